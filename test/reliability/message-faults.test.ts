import { describe } from 'vitest';
import { MESSAGE_FAULT_PERCENTS } from '../helpers/faults/scenarios.js';
import { testRows } from './rows.js';

describe('fault matrix at small size: messages dropped, duplicated, reordered, delayed', () => {
  testRows((['drop', 'duplicate', 'reorder', 'delay'] as const).flatMap((kind) => MESSAGE_FAULT_PERCENTS.map((percent) => `${kind}-${percent}`)));
});
