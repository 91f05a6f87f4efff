import { describe, expect, it } from 'vitest';
import { apply, context, follow, suggest, tokenize, type Describe, selectList, toggleField } from './soql';

const account: Describe = {
  name: 'Account',
  fields: [
    { name: 'Id', type: 'id' },
    { name: 'Name', type: 'string' },
    { name: 'OwnerId', type: 'reference', relationshipName: 'Owner', referenceTo: ['User'] },
  ],
  childRelationships: [{ relationshipName: 'Contacts', childSObject: 'Contact' }],
};
const user: Describe = { name: 'User', fields: [{ name: 'Id' }, { name: 'Name' }, { name: 'Email' }] };
const describes = new Map([['account', account], ['user', user]]);

describe('tokenize', () => {
  it('keeps the text and names each part', () => {
    const q = "SELECT Id, COUNT(Name) FROM Account WHERE Name LIKE 'a%' LIMIT 10";
    const tokens = tokenize(q);
    expect(tokens.map((t) => t.text).join('')).toBe(q);
    const kinds = Object.fromEntries(tokens.filter((t) => t.kind !== 'space').map((t) => [t.text, t.kind]));
    expect(kinds).toMatchObject({ SELECT: 'keyword', Id: 'field', COUNT: 'function', FROM: 'keyword', "'a%'": 'string', '10': 'number' });
  });
  it('reads DESC, FIRST and LAST as keywords only after ORDER BY', () => {
    const kind = (q: string, word: string) => tokenize(q).filter((t) => t.text === word).map((t) => t.kind);
    expect(kind('SELECT Desc FROM Account ORDER BY Name DESC', 'Desc')).toEqual(['field']);
    expect(kind('SELECT Desc FROM Account ORDER BY Name DESC', 'DESC')).toEqual(['keyword']);
    expect(kind('SELECT Last FROM Contact ORDER BY Name NULLS LAST', 'LAST')).toEqual(['keyword']);
  });
});

describe('completion', () => {
  it('offers objects after FROM', () => {
    const ctx = context('SELECT Id FROM Acc', 18);
    expect(ctx).toEqual({ kind: 'object', prefix: 'Acc' });
    expect(suggest(ctx, ['Account', 'Contact'], describes).items.map((s) => s.label)).toEqual(['Account']);
  });
  it('offers fields of the FROM object, and through a relationship', () => {
    const q = 'SELECT Na FROM Account';
    expect(suggest(context(q, 9), [], describes).items.map((s) => s.label)).toEqual(['Name']);
    const rel = 'SELECT Owner.Em FROM Account';
    const ctx = context(rel, 15);
    expect(ctx).toEqual({ kind: 'field', object: 'Account', path: ['Owner'], prefix: 'Em' });
    expect(follow(describes, 'Account', ['Owner'])).toBe('User');
    expect(suggest(ctx, [], describes).items.map((s) => s.label)).toEqual(['Email']);
    expect(suggest(context('SELECT  FROM Account', 7), [], describes).items.map((s) => s.label)).toContain('Owner.');
  });
  it('asks for the describe it lacks', () => {
    expect(suggest(context('SELECT I FROM Contact', 8), [], describes).needs).toBe('Contact');
  });
  it('sees the sub-query around the caret', () => {
    const q = 'SELECT Id, (SELECT La FROM Contacts) FROM Account';
    expect(context(q, 21)).toMatchObject({ kind: 'field', object: 'Contacts', prefix: 'La' });
    expect(suggest(context(q, 21), [], describes).needs).toBe('Contact');
  });
  it('replaces the word at the caret', () => {
    expect(apply('SELECT Na FROM Account', 9, 'Name')).toEqual({ text: 'SELECT Name FROM Account', caret: 11 });
  });
});

describe('field picker', () => {
  it('reads the outer select list, sub-queries as one item', () => {
    const q = "SELECT Id, Name, (SELECT Id, LastName FROM Contacts), Owner.Name FROM Account WHERE Name = 'from, select' ORDER BY Name";
    const l = selectList(q)!;
    expect(l.object).toBe('Account');
    expect(l.items.map((i) => i.text)).toEqual(['Id', 'Name', '(SELECT Id, LastName FROM Contacts)', 'Owner.Name']);
    expect(selectList('SELECT Id FROM')).toBeNull();
    expect(selectList('not a query')).toBeNull();
  });
  it('adds a field at the end of the list and leaves the rest as typed', () => {
    expect(toggleField('SELECT Id,\n  Name\nFROM Account LIMIT 5', 'Industry')).toBe('SELECT Id,\n  Name, Industry\nFROM Account LIMIT 5');
    expect(toggleField('SELECT FROM Account', 'Id')).toBe('SELECT Id FROM Account');
    expect(toggleField('select id from Contact where Name != null', 'Account.Name')).toBe('select id, Account.Name from Contact where Name != null');
  });
  it('removes a field (any case), its comma too, and never the last one', () => {
    expect(toggleField('SELECT Id, Name, Industry FROM Account', 'name')).toBe('SELECT Id, Industry FROM Account');
    expect(toggleField('SELECT Id, Name FROM Account', 'Id')).toBe('SELECT Name FROM Account');
    expect(toggleField('SELECT Id, Name FROM Account', 'Name')).toBe('SELECT Id FROM Account');
    expect(toggleField('SELECT Id FROM Account', 'Id')).toBe('SELECT Id FROM Account');
    expect(toggleField('SELECT Id, (SELECT Name FROM Contacts) FROM Account', 'Name')).toBe('SELECT Id, (SELECT Name FROM Contacts), Name FROM Account');
  });
});
