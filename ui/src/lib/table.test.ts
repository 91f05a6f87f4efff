import { describe, expect, it } from 'vitest';
import { cellDisplay, cellText, columnWidths, toCsv, visibleRange, type Json } from './table';

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

describe('safe CSV', () => {
  it('adds a byte-order mark and guards formula-like text cells, only when asked', () => {
    const rows: Json[][] = [['=HYPERLINK("x")', '+1 call', -5, '@me', '深圳', 'plain']];
    expect(toCsv(['A', 'B', 'C', 'D', 'E', 'F'], rows, { bom: true, guardFormulas: true })).toBe(
      '\ufeffA,B,C,D,E,F\r\n"\'=HYPERLINK(""x"")",\'+1 call,-5,\'@me,深圳,plain\r\n',
    );
    // raw bytes when the user wants them
    expect(toCsv(['A'], [['=1+1']])).toBe('A\r\n=1+1\r\n');
  });
});

describe('grid cells', () => {
  it('shows line breaks, tabs and sub-queries visibly', () => {
    expect(cellDisplay('a\nb\tc')).toBe('a⏎b⇥c');
    expect(cellDisplay([{ LastName: 'x' }, { LastName: 'y' }])).toBe('[2]');
    expect(cellDisplay(null)).toBe('');
  });
  it('sizes columns from the header and a sample, within bounds', () => {
    const w = columnWidths(['Id', 'Description'], [['001', 'x'.repeat(500)], ['002', 'short']], (t) => t.length * 7);
    expect(w[0]).toBe(56);
    expect(w[1]).toBe(360);
  });
});
