import { describe, expect, it } from 'vitest';
import { cellText, lookup, toCsv, visibleRange, type Json } from './table';

const rec: Json = { Id: '001', Name: 'Smith, Jones & "Partners"', Owner: { Name: 'Ada' }, Parent: null, Contacts: [{ LastName: 'Lovelace' }], Revenue: 1.5 };

describe('lookup', () => {
  it('follows relationship paths case-insensitively', () => {
    expect(lookup(rec, 'Owner.Name')).toBe('Ada');
    expect(lookup(rec, 'owner.name')).toBe('Ada');
  });
  it('gives null through a null relationship and undefined for unknown paths', () => {
    expect(lookup(rec, 'Parent.Name')).toBeNull();
    expect(lookup(rec, 'Nope')).toBeUndefined();
  });
});

describe('toCsv', () => {
  it('quotes per RFC 4180 and renders nested values as JSON', () => {
    const csv = toCsv(['Id', 'Name', 'Owner.Name', 'Parent.Name', 'Contacts', 'Revenue'], [rec]);
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
