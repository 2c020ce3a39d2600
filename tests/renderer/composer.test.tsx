// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { QueryInput, SearchResponse } from '../../app/query.js';
import { ApiError } from '../../app/errors.js';
import type { BinderyClient } from '../../renderer/src/api/client.js';
import { App } from '../../renderer/src/App.js';
import { fakeHits, fakeResponse } from '../../renderer/src/dev/fake-client.js';
import { guessModality } from '../../renderer/src/lib/modality.js';
import { fileDrop, mockClient, stubLayout } from './helpers.js';

/** Runs timers (debounce, the fake client's replies) and lets React settle. */
async function flush(ms = 100) {
  // Two rounds: state set inside the first act only schedules its effects (and their timers) when it ends.
  for (const step of [ms, ms]) {
    await act(async () => {
      await vi.advanceTimersByTimeAsync(step);
    });
  }
}

function lastQuery(search: { mock: { calls: [QueryInput][] } }): QueryInput {
  const calls = search.mock.calls;
  return calls[calls.length - 1][0];
}

async function addText(text: string) {
  const input = screen.getByRole('textbox', { name: 'Add a text term (press Enter)' });
  fireEvent.change(input, { target: { value: text } });
  fireEvent.keyDown(input, { key: 'Enter' });
  await flush();
}

let restoreLayout: () => void;
beforeEach(() => {
  vi.useFakeTimers();
  restoreLayout = stubLayout(1000, 800);
});
afterEach(() => {
  cleanup();
  restoreLayout();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('query composer', () => {
  it('explains what to drop while empty, and only offers the pack’s modalities', async () => {
    const { client } = mockClient();
    render(<App client={client} />);
    await flush();
    // The fake pack has text, image, audio and video, but no depth, thermal or IMU encoder.
    expect(screen.getByTestId('dropzone').textContent).toMatch(/Drop photos, recordings or videos here/);
    expect(screen.getByText('Search by words, pictures and sounds')).toBeTruthy();
  });

  it('adds a text chip on Enter and searches with it', async () => {
    const { client, search } = mockClient();
    render(<App client={client} />);
    await flush();
    await addText('  a dog on the beach ');
    const chip = screen.getByRole('group', { name: 'Text term: a dog on the beach' });
    expect(chip).toBeTruthy();
    expect(search).toHaveBeenCalledTimes(1);
    expect(lastQuery(search).terms).toEqual([{ modality: 'text', text: 'a dog on the beach', weight: 1 }]);
    expect((screen.getByRole('textbox', { name: /Add a text term/ }) as HTMLInputElement).value).toBe('');
  });

  it('searches a still slider’s first move at once, and the rest of the burst as one search', async () => {
    const { client, search } = mockClient();
    render(<App client={client} />);
    await flush();
    await addText('sunset');
    await addText('night');
    await flush(200);
    search.mockClear();
    const slider = screen.getByRole('slider', { name: 'Weight of night' });
    for (const v of ['0.8', '0.4', '0', '-0.3', '-0.55']) {
      fireEvent.change(slider, { target: { value: v } });
      await act(async () => {
        await vi.advanceTimersByTimeAsync(20);
      });
    }
    expect(search).toHaveBeenCalledTimes(1);
    expect(lastQuery(search).terms[1].weight).toBe(0.8);
    await flush(60);
    expect(search).toHaveBeenCalledTimes(2);
    expect(lastQuery(search).terms).toEqual([
      { modality: 'text', text: 'sunset', weight: 1 },
      { modality: 'text', text: 'night', weight: -0.55 },
    ]);
  });

  it('keeps re-ranking during a long drag (at most 150 ms between searches)', async () => {
    const { client, search } = mockClient();
    render(<App client={client} />);
    await flush();
    await addText('sunset');
    search.mockClear();
    const slider = screen.getByRole('slider', { name: 'Weight of sunset' });
    for (let i = 0; i < 20; i++) {
      fireEvent.change(slider, { target: { value: String(1 - i * 0.05) } });
      await act(async () => {
        await vi.advanceTimersByTimeAsync(20);
      });
    }
    // 400 ms of continuous movement: a plain 60 ms debounce would not have searched at all.
    expect(search.mock.calls.length).toBeGreaterThanOrEqual(2);
    await flush(60);
    expect(lastQuery(search).terms).toEqual([{ modality: 'text', text: 'sunset', weight: 0.05 }]);
  });

  it('leaves a 0-weight chip out of the query and shows it as off', async () => {
    const { client, search } = mockClient();
    render(<App client={client} />);
    await flush();
    await addText('sunset');
    await addText('night');
    fireEvent.change(screen.getByRole('slider', { name: 'Weight of night' }), { target: { value: '0' } });
    await flush();
    expect(lastQuery(search).terms).toEqual([{ modality: 'text', text: 'sunset', weight: 1 }]);
    expect(screen.getByRole('group', { name: 'Text term: night' }).classList.contains('is-off')).toBe(true);
  });

  it('turns a dropped photo into an image chip with a thumbnail and searches by its path', async () => {
    vi.stubGlobal(
      'URL',
      Object.assign(URL, { createObjectURL: vi.fn(() => 'blob:thumb-1'), revokeObjectURL: vi.fn() }),
    );
    const { client, search, resolveDroppedFile } = mockClient();
    render(<App client={client} />);
    await flush();
    const file = new File([new Uint8Array([0xff, 0xd8, 0xff])], 'dog.jpg', { type: 'image/jpeg' });
    fireEvent.dragEnter(screen.getByTestId('dropzone'), fileDrop([file]));
    fireEvent.drop(screen.getByTestId('dropzone'), fileDrop([file]));
    await flush();
    expect(resolveDroppedFile).toHaveBeenCalledWith(file);
    const chip = screen.getByRole('group', { name: 'Image term: dog.jpg' });
    expect(chip.querySelector('img')!.getAttribute('src')).toBe('blob:thumb-1');
    expect(lastQuery(search).terms).toEqual([{ modality: 'image', path: '/uploads/dog.jpg', weight: 1 }]);
    fireEvent.click(within(chip).getByRole('button', { name: 'Remove dog.jpg' }));
    expect(URL.revokeObjectURL).toHaveBeenCalledWith('blob:thumb-1');
  });

  it('lets the user re-label an ambiguous PNG as depth', async () => {
    const { client, search } = mockClient();
    const pendingStatus = client.status();
    await vi.advanceTimersByTimeAsync(1);
    const status = await pendingStatus;
    status.model.inputKinds = ['text', 'image', 'depth', 'thermal'];
    status.servingInputKinds = status.model.inputKinds;
    render(<App client={{ ...client, status: async () => status }} />);
    await flush();
    const png = new File([new Uint8Array([1])], 'frame.png', { type: 'image/png' });
    fireEvent.drop(screen.getByTestId('dropzone'), fileDrop([png]));
    await flush();
    const select = screen.getByRole('combobox', { name: 'Search “frame.png” as' }) as HTMLSelectElement;
    expect(Array.from(select.options).map((o) => o.value)).toEqual(['image', 'depth', 'thermal']);
    fireEvent.change(select, { target: { value: 'depth' } });
    await flush();
    expect(lastQuery(search).terms).toEqual([{ modality: 'depth', path: '/uploads/frame.png', weight: 1 }]);
  });

  it('offers "Audio" for a dropped video only when the engine found a soundtrack', async () => {
    const embed = vi.fn(async (req: { modality: string; path?: string }) => ({
      modality: req.modality,
      pack: 'fake',
      dim: 1,
      vector: [1],
      hasAudio: !req.path?.includes('silent'),
    }));
    const { client } = mockClient(40, { embed: embed as unknown as BinderyClient['embed'] });
    render(<App client={client} />);
    await flush();
    const video = (name: string) => new File([new Uint8Array([0])], name, { type: 'video/mp4' });
    fireEvent.drop(screen.getByTestId('dropzone'), fileDrop([video('silent.mp4'), video('party.mp4')]));
    await flush();
    expect(screen.queryByRole('combobox', { name: 'Search “silent.mp4” as' })).toBeNull();
    const party = screen.getByRole('combobox', { name: 'Search “party.mp4” as' }) as HTMLSelectElement;
    expect(Array.from(party.options).map((o) => o.value)).toEqual(['video', 'audio']);
  });

  it('shows an input the engine cannot use on its own chip, and searches with the rest', async () => {
    const embed = vi.fn(async (req: { modality: string; path?: string }) => {
      if (req.path?.endsWith('broken.jpg'))
        throw new ApiError('invalid_request', `cannot decode image: ${req.path} is not a JPEG`);
      return { modality: req.modality, pack: 'fake', dim: 1, vector: [1] };
    });
    const { client, search } = mockClient(40, { embed: embed as unknown as BinderyClient['embed'] });
    render(<App client={client} />);
    await flush();
    const good = new File([new Uint8Array([0xff, 0xd8, 0xff])], 'dog.jpg', { type: 'image/jpeg' });
    const bad = new File([new Uint8Array([0x41])], 'broken.jpg', { type: 'image/jpeg' });
    fireEvent.drop(screen.getByTestId('dropzone'), fileDrop([good, bad]));
    await flush();
    const chip = screen.getByRole('group', { name: /broken\.jpg/ });
    // In words naming the file, never the upload's internal path.
    expect(chip.textContent).toContain('cannot decode image: broken.jpg is not a JPEG');
    expect(chip.textContent).not.toContain('/uploads/');
    expect(lastQuery(search).terms).toEqual([{ modality: 'image', path: '/uploads/dog.jpg', weight: 1 }]);
    expect(screen.queryByText('The search failed')).toBeNull();
  });

  it('refuses a file the active pack cannot encode, without searching', async () => {
    const { client, search } = mockClient();
    render(<App client={client} />);
    await flush();
    fireEvent.drop(
      screen.getByTestId('dropzone'),
      fileDrop([new File(['t,ax'], 'walk.csv', { type: 'text/csv' })]),
    );
    await flush();
    expect(screen.getByRole('alert').textContent).toMatch(/cannot search by imu/);
    expect(search).not.toHaveBeenCalled();
  });

  it('shows an upload failure on the chip', async () => {
    const { client } = mockClient(5, {
      resolveDroppedFile: () => Promise.reject({ code: 'failed', message: 'disk full' }),
    });
    render(<App client={client} />);
    await flush();
    fireEvent.drop(
      screen.getByTestId('dropzone'),
      fileDrop([new File(['x'], 'a.wav', { type: 'audio/wav' })]),
    );
    await flush();
    expect(screen.getByRole('group', { name: 'Audio term: a.wav' }).textContent).toContain('disk full');
  });

  it('removes chips with the button and with Delete on a focused chip', async () => {
    const { client, search } = mockClient();
    render(<App client={client} />);
    await flush();
    await addText('one');
    await addText('two');
    fireEvent.click(screen.getByRole('button', { name: 'Remove one' }));
    await flush();
    expect(screen.queryByRole('group', { name: 'Text term: one' })).toBeNull();
    expect(lastQuery(search).terms).toEqual([{ modality: 'text', text: 'two', weight: 1 }]);
    const two = screen.getByRole('group', { name: 'Text term: two' });
    two.focus();
    fireEvent.keyDown(two, { key: 'Delete' });
    await flush();
    expect(screen.queryByRole('group', { name: 'Text term: two' })).toBeNull();
    expect(screen.getByText('Search by words, pictures and sounds')).toBeTruthy();
  });

  it('never lets a stale response overwrite a newer one', async () => {
    const pending: ((r: SearchResponse) => void)[] = [];
    const { client, search } = mockClient();
    search.mockImplementation(() => new Promise<SearchResponse>((r) => pending.push(r)));
    render(<App client={client} />);
    await flush();
    await addText('first');
    fireEvent.change(screen.getByRole('slider', { name: 'Weight of first' }), { target: { value: '0.5' } });
    await flush();
    expect(pending).toHaveLength(2);
    const response = (name: string): SearchResponse =>
      fakeResponse(fakeHits(1).map((h) => ({ ...h, path: `/x/${name}.jpg` })));
    await act(async () => pending[1](response('newer')));
    await act(async () => pending[0](response('older')));
    await flush();
    expect(screen.getByText('newer.jpg')).toBeTruthy();
    expect(screen.queryByText('older.jpg')).toBeNull();
  });
});

describe('modality guesses', () => {
  it('reads MIME types and extensions, and flags ambiguous single-channel images', () => {
    expect(guessModality({ name: 'a.JPG', type: '' })).toEqual({ kind: 'image', candidates: ['image'] });
    expect(guessModality({ name: 'scan_depth.png', type: 'image/png' }).kind).toBe('depth');
    expect(guessModality({ name: 'flir_0001.tiff', type: '' }).kind).toBe('thermal');
    expect(guessModality({ name: 'x.png', type: 'image/png' }).candidates).toEqual([
      'image',
      'depth',
      'thermal',
    ]);
    expect(guessModality({ name: 'song', type: 'audio/mpeg' }).kind).toBe('audio');
    expect(guessModality({ name: 'clip.mov', type: '' }).kind).toBe('video');
    expect(guessModality({ name: 'imu.csv', type: '' }).kind).toBe('imu');
    expect(guessModality({ name: 'notes.pdf', type: 'application/pdf' }).kind).toBeNull();
  });
});
