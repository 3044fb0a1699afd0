export { Emulator, startEmulator, type EcsControls, type EmulatorOptions, type EmulatorTargetConfig, type SessionControls } from './emulator.js';
export type { EmulatedEcsTask, EmulatedEcsTaskConfig } from './ecs-tasks.js';
export { DEFAULT_AGENT_KNOBS, DEFAULT_AGENT_VERSION, DEFAULT_DENY_LIST, type AgentKnobs } from './agent-knobs.js';
export {
  MALFORMED_FRAME_KINDS,
  type CloseAfterFault,
  type DirectionalShare,
  type FaultDirection,
  type FaultSettings,
  type MalformedFrameKind,
} from './faults.js';
export type {
  AgentSessionLog,
  ChannelClosedRecord,
  ConnectionRecord,
  EmulatorRecordSnapshot,
  FaultRecord,
  FlagRecord,
  PortMode,
  SessionRecord,
  WebSocketRecord,
} from './record.js';
export { HANDSHAKE_TIMEOUT_OUTPUT, IDLE_TIMEOUT_OUTPUT, MAX_DURATION_OUTPUT } from './agent-session.js';
export type { ApiCallRecord, ChannelRefusal } from './emulator-record.js';
export type { EmulatedTargetConfig, PingStatus } from './targets.js';
export type { EndedState, SessionState } from './session-registry.js';
export { EMULATOR_ACCESS_KEY_ID, EMULATOR_CREDENTIALS, EMULATOR_SECRET_ACCESS_KEY, type EmulatorCredentials } from './sigv4-verifier.js';
export { ApiError } from './api-errors.js';
