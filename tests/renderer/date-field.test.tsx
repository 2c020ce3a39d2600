// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DateField, parseDay } from '../../renderer/src/components/DateField.js';

afterEach(cleanup);

const local = (...a: [number, number, number, number?, number?, number?, number?]) =>
  new Date(...a).getTime();

describe('date filters typed as text (one Tab stop each)', () => {
  it('reads a year, a month or a day as the start or the end of that span', () => {
    expect(parseDay('2019')).toBe(local(2019, 0, 1));
    expect(parseDay('2019', true)).toBe(local(2019, 11, 31, 23, 59, 59, 999));
    expect(parseDay('2019-07')).toBe(local(2019, 6, 1));
    expect(parseDay('2019/7', true)).toBe(local(2019, 6, 31, 23, 59, 59, 999));
    expect(parseDay('2024-02-29', true)).toBe(local(2024, 1, 29, 23, 59, 59, 999));
    expect(parseDay(' 2019.07.14 ')).toBe(local(2019, 6, 14));
    expect(parseDay('')).toBeUndefined();
    for (const bad of ['2023-02-29', '2019-13', '2019-00-10', '14/07/2019', 'July', '201'])
      expect(parseDay(bad), bad).toBeNull();
  });

  it('commits on Enter, shows the day it understood, and flags what it cannot read', () => {
    const onChange = vi.fn();
    const { rerender } = render(<DateField label="To" value={undefined} endOfSpan onChange={onChange} />);
    const box = screen.getByLabelText('To date');
    fireEvent.change(box, { target: { value: '2019-07' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onChange).toHaveBeenCalledWith(local(2019, 6, 31, 23, 59, 59, 999));
    rerender(<DateField label="To" value={onChange.mock.calls[0][0]} endOfSpan onChange={onChange} />);
    expect((box as HTMLInputElement).value).toBe('2019-07-31');
    fireEvent.change(box, { target: { value: 'soon' } });
    fireEvent.blur(box);
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(onChange).toHaveBeenCalledTimes(1);
    // Esc puts back the date in force.
    fireEvent.keyDown(box, { key: 'Escape' });
    expect((box as HTMLInputElement).value).toBe('2019-07-31');
    expect(box.getAttribute('aria-invalid')).toBeNull();
  });

  it('keeps the calendar out of the tab order', () => {
    render(<DateField label="From" value={undefined} onChange={() => undefined} />);
    const focusable = Array.from(document.querySelectorAll<HTMLElement>('input, button')).filter(
      (el) => el.tabIndex >= 0,
    );
    expect(focusable).toEqual([screen.getByLabelText('From date')]);
  });
});
