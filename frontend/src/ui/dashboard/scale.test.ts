import { describe, expect, it } from 'vitest';
import { contrast, dayLabel, fillWeeks, fmtKappa, fmtPct, heat, isoWeek, kappaWords, linear, mondayOf, niceMax, parseHex, textOn, ticks, weekLabel } from './scale';

describe('axes', () => {
  it('rounds the top of an axis up to a nice number', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(-3)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(22)).toBe(25);
    expect(niceMax(24)).toBe(25);
    expect(niceMax(49)).toBe(50);
    expect(niceMax(100)).toBe(100);
    expect(niceMax(0.3)).toBeCloseTo(0.5);
  });
  it('spaces ticks evenly from zero to the nice top', () => {
    expect(ticks(22)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(ticks(49)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(ticks(4)).toEqual([0, 1, 2, 3, 4]);
    expect(ticks(12)).toEqual([0, 2.5, 5, 7.5, 10, 12.5]);
    expect(ticks(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
  it('maps values linearly and clamps', () => {
    const x = linear(50, 500);
    expect(x(0)).toBe(0);
    expect(x(25)).toBe(250);
    expect(x(80)).toBe(500);
    expect(x(-1)).toBe(0);
    expect(linear(0, 100)(0)).toBe(0);
  });
});

describe('colour', () => {
  it('parses hex colours', () => {
    expect(parseHex('#1d3557')).toEqual([29, 53, 87]);
    expect(parseHex('fff')).toEqual([255, 255, 255]);
    expect(() => parseHex('#zzzzzz')).toThrow();
  });
  it('computes WCAG contrast', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#777777')).toBeCloseTo(1, 5);
    expect(textOn('#ffffff')).toBe('#14171c');
    expect(textOn('#1d3557')).toBe('#ffffff');
  });
  it('keeps heatmap text readable (at least 4.5:1) at every step, for every code colour', () => {
    for (const hue of ['#1d3557', '#1f5fa8', '#a8321f', '#1f7a4a', '#6b3fa0', '#f0b400']) {
      for (let v = 0; v <= 40; v++) {
        const { bg, fg } = heat(v, 40, hue);
        expect(contrast(bg, fg), `${hue} at ${v}`).toBeGreaterThanOrEqual(4.5);
      }
    }
  });
  it('is white for zero and darkest for the maximum', () => {
    expect(heat(0, 10).bg).toBe('#ffffff');
    expect(heat(10, 10).bg).toBe('#1d3557');
    expect(heat(3, 0).bg).toBe('#ffffff');
  });
});

describe('ISO weeks', () => {
  it('numbers weeks as ISO 8601 does, across year ends', () => {
    expect(isoWeek(new Date('2024-02-26T12:00:00Z'))).toBe('2024-W09');
    expect(isoWeek(new Date('2021-01-03T00:00:00Z'))).toBe('2020-W53');
    expect(isoWeek(new Date('2018-12-31T00:00:00Z'))).toBe('2019-W01');
    expect(isoWeek(new Date('2018-10-04T09:30:00Z'))).toBe('2018-W40');
  });
  it('finds the Monday of a week', () => {
    expect(mondayOf('2024-03-03')).toBe('2024-02-26');
    expect(mondayOf('2024-02-26')).toBe('2024-02-26');
  });
  it('labels weeks and days without the locale', () => {
    expect(dayLabel('2018-10-01')).toBe('1 Oct 2018');
    expect(weekLabel('2024-W09', '2024-02-26')).toBe('2024-W09 (26 Feb–3 Mar 2024)');
    expect(weekLabel('2018-W40', '2018-10-01')).toBe('2018-W40 (1–7 Oct 2018)');
    expect(weekLabel('2020-W01', '2019-12-30')).toBe('2020-W01 (30 Dec 2019–5 Jan 2020)');
  });
  it('fills silent weeks between observed ones with zeros', () => {
    const pts = [{ week: '2020-W52', starts_on: '2020-12-21', n: 2 }, { week: '2021-W02', starts_on: '2021-01-11', n: 1 }];
    const out = fillWeeks(pts, (week, starts_on) => ({ week, starts_on, n: 0 }));
    expect(out.map((p) => `${p.week}:${p.n}`)).toEqual(['2020-W52:2', '2020-W53:0', '2021-W01:0', '2021-W02:1']);
    expect(fillWeeks([], (week, starts_on) => ({ week, starts_on }))).toEqual([]);
  });
});

describe('formats', () => {
  it('formats ratios and kappas', () => {
    expect(fmtPct(0.9167)).toBe('92%');
    expect(fmtPct(null)).toBe('–');
    expect(fmtKappa(0.41234)).toBe('0.41');
    expect(kappaWords(0.41)).toBe('moderate');
    expect(kappaWords(-0.1)).toBe('worse than chance');
    expect(kappaWords(null)).toBe('not computable');
  });
});
