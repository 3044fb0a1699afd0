import { describe } from 'vitest';
import { testRows } from './rows.js';

describe('fault matrix at small size: destinations and local clients', () => {
  testRows(['destination-refuses', 'destination-closes', 'destination-stalls', 'client-reset']);
});
