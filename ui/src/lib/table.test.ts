import { describe, expect, it } from 'vitest';
import { cellText, toCsv, visibleRange, type Json } from './table';

// A row as the core flattens it: one value per column, a sub-query as the array of its records.
const row: Json[] = ['001', 'Smith, Jones & "Partners"', 'Ada', null, [{ LastName: 'Lovelace' }], 1.5];

describe('toCsv', () => {
  it('quotes per RFC 4180 and renders nested values as JSON', () => {
    const csv = toCsv(['Id', 'Name', 'Owner.Name', 'Parent.Name', 'Contacts', 'Revenue'], [row]);
    expect(csv).toBe('Id,Name,Owner.Name,Parent.Name,Contacts,Revenue\r\n001,"Smith, Jones & ""Partners""",Ada,,"[{""LastName"":""Lovelace""}]",1.5\r\n');
  });
  it('renders empty cells for missing values', () => {
    expect(cellText(undefined)).toBe('');
    expect(cellText(false)).toBe('false');
  });
});

describe('visibleRange', () => {
  it('renders only the rows in view plus overscan', () => {
    expect(visibleRange(0, 280, 28, 100000, 10)).toEqual([0, 20]);
    expect(visibleRange(28 * 50000, 280, 28, 100000, 10)).toEqual([49990, 50020]);
  });
  it('clamps at the end', () => {
    expect(visibleRange(28 * 99995, 280, 28, 100000, 10)).toEqual([99985, 100000]);
    expect(visibleRange(0, 280, 28, 0, 10)).toEqual([0, 0]);
  });
});
