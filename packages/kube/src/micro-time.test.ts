import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMicroTime, parseMicroTime } from './micro-time.ts';

const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe('formatMicroTime', () => {
  it('writes UTC with exactly six fractional digits', () => {
    assert.equal(formatMicroTime(0), '1970-01-01T00:00:00.000000Z');
    assert.equal(formatMicroTime(Date.UTC(2023, 10, 14, 22, 13, 20, 123)), '2023-11-14T22:13:20.123000Z');
    assert.equal(formatMicroTime(Date.UTC(2024, 1, 29, 0, 0, 0, 5)), '2024-02-29T00:00:00.005000Z');
  });

  it('keeps microseconds of a fractional millisecond', () => {
    assert.equal(
      formatMicroTime(Date.UTC(2023, 10, 14, 22, 13, 20, 123) + 0.456),
      '2023-11-14T22:13:20.123456Z',
    );
    assert.equal(formatMicroTime(999.9996), '1970-01-01T00:00:01.000000Z', 'rounds up into the next second');
  });

  it('handles times before the epoch', () => {
    assert.equal(formatMicroTime(-1), '1969-12-31T23:59:59.999000Z');
    assert.equal(formatMicroTime(-0.001), '1969-12-31T23:59:59.999999Z');
  });

  it('always matches the MicroTime shape and round-trips through parseMicroTime', () => {
    for (let i = 0; i < 1000; i++) {
      const ms = Math.floor(Math.random() * 4e12) + Math.floor(Math.random() * 1000) / 1000;
      const text = formatMicroTime(ms);
      assert.match(text, microTime);
      assert.ok(Math.abs((parseMicroTime(text) ?? NaN) - ms) < 0.0011, `${ms} → ${text}`);
    }
  });

  it('rejects what is not a time', () => {
    assert.throws(() => formatMicroTime(Number.NaN), RangeError);
    assert.throws(() => formatMicroTime(Number.POSITIVE_INFINITY), RangeError);
    assert.throws(() => formatMicroTime(3e14), RangeError); // year 11476
  });
});

describe('parseMicroTime', () => {
  it('reads RFC 3339 with any precision and offset', () => {
    const base = Date.UTC(2024, 0, 2, 3, 4, 5);
    assert.equal(parseMicroTime('2024-01-02T03:04:05Z'), base);
    assert.equal(parseMicroTime('2024-01-02T03:04:05.5Z'), base + 500);
    assert.equal(parseMicroTime('2024-01-02T03:04:05.123456Z'), base + 123.456);
    assert.equal(parseMicroTime('2024-01-02T03:04:05.123456789Z'), base + 123.456, 'nanoseconds are cut');
    assert.equal(parseMicroTime('2024-01-02T04:04:05.000000+01:00'), base);
  });

  it('says undefined for what is not a time', () => {
    for (const text of [
      '',
      'yesterday',
      '2024-01-02 03:04:05Z',
      '2024-01-02T03:04:05',
      '2024-13-45T99:99:99Z',
    ]) {
      assert.equal(parseMicroTime(text), undefined, text);
    }
  });
});
