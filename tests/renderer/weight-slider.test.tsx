// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatWeight, WeightSlider } from '../../renderer/src/components/WeightSlider.js';
import { clampWeight } from '../../renderer/src/state/chips.js';

afterEach(cleanup);

function Controlled({ initial = 1, onChange }: { initial?: number; onChange?: (w: number) => void }) {
  const [w, setW] = useState(initial);
  return (
    <WeightSlider
      value={w}
      label="sunset"
      onChange={(v) => {
        setW(v);
        onChange?.(v);
      }}
    />
  );
}

describe('WeightSlider', () => {
  it('is a −1…+1 range in steps of 0.05 with an accessible name and value text', () => {
    render(<WeightSlider value={0.5} label="sunset" onChange={() => undefined} />);
    const range = screen.getByRole('slider', { name: 'Weight of sunset' }) as HTMLInputElement;
    expect(range.min).toBe('-1');
    expect(range.max).toBe('1');
    expect(range.step).toBe('0.05');
    expect(range.value).toBe('0.5');
    expect(range.getAttribute('aria-valuetext')).toBe('+0.50, adds to the query');
    expect(
      (screen.getByRole('spinbutton', { name: 'Weight of sunset (number)' }) as HTMLInputElement).value,
    ).toBe('0.50');
  });

  it('reports slider moves snapped to the 0.05 grid', () => {
    const onChange = vi.fn();
    render(<Controlled onChange={onChange} />);
    fireEvent.change(screen.getByRole('slider'), { target: { value: '-0.37' } });
    expect(onChange).toHaveBeenLastCalledWith(-0.35);
    expect((screen.getByRole('spinbutton') as HTMLInputElement).value).toBe('-0.35');
  });

  it('shows 0 as off, visibly', () => {
    const { container } = render(<Controlled initial={0} />);
    expect(container.querySelector('.weight')!.classList.contains('is-off')).toBe(true);
    expect(screen.getByRole('slider').getAttribute('aria-valuetext')).toBe('0.00, off');
  });

  it('commits a typed value on Enter, clamped to [−1, 1], and reverts nonsense', () => {
    const onChange = vi.fn();
    render(<Controlled onChange={onChange} />);
    const num = screen.getByRole('spinbutton') as HTMLInputElement;
    fireEvent.change(num, { target: { value: '-3' } });
    expect(onChange).not.toHaveBeenCalled(); // nothing happens while typing
    fireEvent.keyDown(num, { key: 'Enter' });
    expect(onChange).toHaveBeenLastCalledWith(-1);
    fireEvent.change(num, { target: { value: 'abc' } });
    fireEvent.blur(num);
    expect(num.value).toBe('-1.00');
    expect(onChange).toHaveBeenCalledTimes(1);
  });

  it('steps with the arrow keys in the number field', () => {
    const onChange = vi.fn();
    render(<Controlled initial={0.95} onChange={onChange} />);
    const num = screen.getByRole('spinbutton');
    fireEvent.keyDown(num, { key: 'ArrowUp' });
    expect(onChange).toHaveBeenLastCalledWith(1);
    fireEvent.keyDown(num, { key: 'ArrowUp' }); // already at +1: no change
    expect(onChange).toHaveBeenCalledTimes(1);
    fireEvent.keyDown(num, { key: 'ArrowDown' });
    expect(onChange).toHaveBeenLastCalledWith(0.95);
  });

  it('double-click toggles between off and full weight', () => {
    const onChange = vi.fn();
    render(<Controlled initial={0.4} onChange={onChange} />);
    fireEvent.doubleClick(screen.getByRole('slider'));
    expect(onChange).toHaveBeenLastCalledWith(0);
    fireEvent.doubleClick(screen.getByRole('slider'));
    expect(onChange).toHaveBeenLastCalledWith(1);
  });

  it('clamps and snaps weights, and formats them signed', () => {
    expect(clampWeight(0.333)).toBe(0.35);
    expect(clampWeight(-0.01)).toBe(0);
    expect(Object.is(clampWeight(-0.01), -0)).toBe(false);
    expect(clampWeight(7)).toBe(1);
    expect(clampWeight(Number.NaN)).toBe(0);
    expect(formatWeight(-0.5)).toBe('−0.50');
    expect(formatWeight(0)).toBe('0.00');
  });
});
