import { describe } from 'vitest';
import { testRows } from './rows.js';

// emulator-restart runs the built CLI (`npm run build` first, as `npm test` does).
describe('fault matrix at small size: sessions ended by the server, the emulator killed', () => {
  testRows(['idle-timeout', 'max-duration', 'terminate-elsewhere', 'emulator-restart']);
});
