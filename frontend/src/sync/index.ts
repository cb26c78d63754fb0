export { FieldscopeDB, getDB, getMeta, setMeta } from './db';
export { SyncEngine, HttpError } from './engine';
export { uuid7 } from './ids';
export {
  ensureClientId, mutate, isStaleSeq, StaleSeq, settle, pendingCount, pendingByClient, exportPending, importPending, EXPORT_FORMAT,
  type ExportFile, type ImportReport, type LocalChange,
} from './outbox';
export { applyPage, resetPulled, rebase, baseVersion } from './records';
export * from './types';
export { sessionClock, type Pause, type ClockState } from './clock';
