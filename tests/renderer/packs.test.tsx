// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelSummary } from '../../app/api.js';
import { ClientProvider } from '../../renderer/src/api/context.js';
import { InstallDialog } from '../../renderer/src/components/InstallDialog.js';
import { aboutDuration, kindsInWords } from '../../renderer/src/components/PackConfirm.js';
import { mockClient } from './helpers.js';

afterEach(cleanup);

/**
 * The model-packs dialog asks before it acts (issue 15, item 5): removing a pack says what it
 * frees, switching says how much is embedded again and about how long it takes; "Use it now"
 * goes with a removed pack; a new action replaces the last one's message.
 */

const MB = 1024 * 1024;

function pack(id: string, name: string, over: Partial<ModelSummary> = {}): ModelSummary {
  return {
    id,
    name,
    version: '1.0.0',
    dir: `/data/packs/${id}`,
    licence: 'MIT',
    licenceAcceptedAt: null,
    testPack: true,
    verified: false,
    selftest: null,
    active: false,
    embeddedContents: 0,
    totalContents: 6,
    diskBytes: 3 * MB,
    removeFreesDisk: true,
    reembed: { contents: 6, byKind: { image: 4, audio: 1, video: 1 }, seconds: 200, paceOf: 'test' },
    ...over,
  };
}

function packsClient() {
  let models = [
    pack('test', 'Test pack', {
      active: true,
      embeddedContents: 6,
      removeFreesDisk: false,
      reembed: { contents: 0, byKind: { image: 0, audio: 0, video: 0 }, seconds: 0, paceOf: null },
    }),
    pack('pack-b', 'Pack B'),
  ];
  const copy = () => models.map((m) => ({ ...m }));
  const removeModel = vi.fn(async ({ id }: { id: string }) => {
    models = models.filter((m) => m.id !== id);
    return copy();
  });
  const useModel = vi.fn(async ({ id }: { id: string }) => {
    models = models.map((m) => ({ ...m, active: m.id === id }));
    return copy();
  });
  const installModel = vi.fn(async () => {
    models.push(pack('pack-c', 'Pack C'));
    return models.at(-1)!;
  });
  const { client } = mockClient(0, {
    listModels: async () => copy(),
    removeModel,
    useModel,
    installModel,
  });
  return { client, removeModel, useModel, installModel };
}

function open(client: ReturnType<typeof packsClient>['client']) {
  const onChanged = vi.fn();
  const onClose = vi.fn();
  const view = render(
    <ClientProvider client={client}>
      <InstallDialog onClose={onClose} onChanged={onChanged} />
    </ClientProvider>,
  );
  return { ...view, onChanged, onClose };
}

const question = (name: string) => screen.findByRole('alertdialog', { name });

describe('the model-packs dialog', () => {
  it('asks before removing a pack, with the disk space it frees', async () => {
    const { client, removeModel } = packsClient();
    open(client);
    fireEvent.click(await screen.findByRole('button', { name: 'Remove Pack B' }));
    const ask = await question('Remove Pack B?');
    expect(within(ask).getByTestId('remove-frees').textContent).toBe(
      'Its files are deleted, freeing 3.0 MB on disk.',
    );
    fireEvent.click(within(ask).getByRole('button', { name: 'Cancel' }));
    expect(removeModel).not.toHaveBeenCalled();
    expect(screen.queryByRole('alertdialog')).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Remove Pack B' }));
    fireEvent.click(within(await question('Remove Pack B?')).getByRole('button', { name: 'Remove pack' }));
    expect(removeModel).toHaveBeenCalledWith({ id: 'pack-b' });
    expect((await screen.findByRole('status')).textContent).toContain('Removed Pack B, freeing 3.0 MB.');
    expect(screen.queryByRole('button', { name: 'Remove Pack B' })).toBeNull();
  });

  it('says what a switch re-embeds and about how long it takes, before switching', async () => {
    const { client, useModel } = packsClient();
    const { onChanged } = open(client);
    fireEvent.click(await screen.findByRole('button', { name: 'Use' }));
    const ask = await question('Switch to Pack B?');
    expect(within(ask).getByTestId('reembed-count').textContent).toBe(
      "Your library's 6 items (4 photos, 1 recording and 1 video) will be embedded again with Pack B.",
    );
    expect(within(ask).getByTestId('reembed-time').textContent).toBe('about 3 min');
    expect(ask.textContent).toContain('at the pace Test pack embedded here');
    expect(ask.textContent).toContain('search keeps using Test pack');
    expect(useModel).not.toHaveBeenCalled();
    fireEvent.click(within(ask).getByRole('button', { name: 'Switch' }));
    expect(useModel).toHaveBeenCalledWith({ id: 'pack-b' });
    await screen.findByText(/Now using Pack B/);
    expect(onChanged).toHaveBeenCalled();
  });

  it('takes "Use it now" away once the installed pack is removed', async () => {
    const { client } = packsClient();
    open(client);
    fireEvent.change(await screen.findByRole('textbox', { name: 'Model pack URL, folder or checkpoint' }), {
      target: { value: '/somewhere/pack-c' },
    });
    fireEvent.click(screen.getByRole('button', { name: /Install from source/ }));
    const outcome = await screen.findByTestId('install-outcome');
    expect(within(outcome).getByRole('button', { name: 'Use it now' })).toBeTruthy();
    fireEvent.click(await screen.findByRole('button', { name: 'Remove Pack C' }));
    fireEvent.click(within(await question('Remove Pack C?')).getByRole('button', { name: 'Remove pack' }));
    await screen.findByText(/Removed Pack C/);
    expect(screen.queryByTestId('install-outcome')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Use it now' })).toBeNull();
  });

  it('asks before "Use it now" too', async () => {
    const { client, useModel } = packsClient();
    open(client);
    fireEvent.change(await screen.findByRole('textbox', { name: 'Model pack URL, folder or checkpoint' }), {
      target: { value: '/somewhere/pack-c' },
    });
    fireEvent.click(screen.getByRole('button', { name: /Install from source/ }));
    fireEvent.click(await screen.findByRole('button', { name: 'Use it now' }));
    fireEvent.click(within(await question('Switch to Pack C?')).getByRole('button', { name: 'Switch' }));
    expect(useModel).toHaveBeenCalledWith({ id: 'pack-c' });
    await screen.findByText(/Now using Pack C/);
    expect(screen.queryByRole('button', { name: 'Use it now' })).toBeNull();
  });

  it('clears the last message when a new action starts, and when the dialog opens again', async () => {
    const { client, useModel, installModel } = packsClient();
    useModel.mockRejectedValueOnce({ code: 'conflict', message: 'another model install is running' });
    installModel.mockRejectedValueOnce({ code: 'invalid_request', message: 'not a pack' });
    const { unmount } = open(client);
    fireEvent.click(await screen.findByRole('button', { name: 'Use' }));
    fireEvent.click(within(await question('Switch to Pack B?')).getByRole('button', { name: 'Switch' }));
    expect((await screen.findByRole('alert')).textContent).toBe('another model install is running');

    // An install replaces the switch's error with its own outcome.
    fireEvent.change(screen.getByRole('textbox', { name: 'Model pack URL, folder or checkpoint' }), {
      target: { value: '/nowhere' },
    });
    fireEvent.click(screen.getByRole('button', { name: /Install from source/ }));
    expect((await screen.findByText('not a pack')).getAttribute('role')).toBe('alert');
    expect(screen.queryByText('another model install is running')).toBeNull();

    // A switch replaces the install's error.
    fireEvent.click(screen.getByRole('button', { name: 'Use' }));
    fireEvent.click(within(await question('Switch to Pack B?')).getByRole('button', { name: 'Switch' }));
    await screen.findByText(/Now using Pack B/);
    expect(screen.queryByText('not a pack')).toBeNull();

    unmount();
    open(client);
    await screen.findByRole('list', { name: 'Installed model packs' });
    await act(async () => undefined);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByText(/Now using/)).toBeNull();
  });

  it('says a switch re-embeds nothing when the pack has the whole library already', async () => {
    const { client } = packsClient();
    const full = { contents: 0, byKind: { image: 0, audio: 0, video: 0 }, seconds: 0, paceOf: null };
    client.listModels = async () => [
      pack('test', 'Test pack', { active: true }),
      pack('b', 'B', { reembed: full }),
    ];
    open(client);
    fireEvent.click(await screen.findByRole('button', { name: 'Use' }));
    expect((await question('Switch to B?')).textContent).toContain('nothing is embedded again');
  });
});

describe('estimates in words', () => {
  it('names the kinds and rounds the time', () => {
    expect(kindsInWords({ image: 1, audio: 0, video: 2 })).toBe('1 photo and 2 videos');
    expect(kindsInWords({ image: 3, audio: 0, video: 0 })).toBe('3 photos');
    expect(aboutDuration(20)).toBe('under a minute');
    expect(aboutDuration(5400)).toBe('about 1 h 30 min');
    expect(aboutDuration(7200)).toBe('about 2 h');
  });
});
