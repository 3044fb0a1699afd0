export * from './errors.js';
export * from './client-message.js';
export * from './payloads.js';
export * from './smux.js';
export * from './version.js';
