import { describe, expect, it } from 'vitest';
import { parseHeaders, persistableHeaders } from './request';

describe('request headers', () => {
  it('reads Name: value lines and skips the rest', () => {
    expect(parseHeaders('Accept: application/json\nnot a header\n: x\nX-Trace:  a:b ')).toEqual([
      ['Accept', 'application/json'],
      ['X-Trace', 'a:b'],
    ]);
  });
  it('keeps no credential header for the disk', () => {
    const text = 'Accept: application/json\nAuthorization: Bearer 00Dxx!secret\n cookie : sid=1\nX-Api-Key: k\nX-Trace: 1';
    expect(persistableHeaders(text)).toBe('Accept: application/json\nX-Trace: 1');
  });
});
