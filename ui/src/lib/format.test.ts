import { describe, expect, it } from 'vitest';
import { claim, duration, mask, secondsLeft } from './format';

describe('duration', () => {
  it('reads like a countdown', () => {
    expect(duration(7140)).toBe('1h 59m');
    expect(duration(61)).toBe('1m 1s');
    expect(duration(5)).toBe('5s');
    expect(duration(90000)).toBe('1d 1h');
    expect(duration(-61)).toBe('-1m 1s');
  });
});

describe('secondsLeft', () => {
  it('is null when the expiry is unknown', () => {
    expect(secondsLeft(null, 0)).toBeNull();
    expect(secondsLeft(undefined, 0)).toBeNull();
  });
  it('counts down and goes negative once expired', () => {
    expect(secondsLeft(10_000, 0)).toBe(10);
    expect(secondsLeft(10_000, 12_500)).toBe(-3);
  });
});

describe('mask and claims', () => {
  it('masks secrets', () => {
    expect(mask('00DE0000000000001234567890')).toBe('00DE…(26)');
    expect(mask('short')).toBe('…(5)');
  });
  it('shows date claims with a date', () => {
    expect(claim('exp', 1700000000)).toMatch(/^1700000000 \(2023-11-1\d /);
    expect(claim('sub', 'ada')).toBe('ada');
    expect(claim('aud', ['a', 'b'])).toBe('["a","b"]');
  });
});
