// @vitest-environment jsdom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Status } from '../../app/api.js';
import { StatusBar } from '../../renderer/src/components/StatusBar.js';
import { createFakeClient } from '../../renderer/src/dev/fake-client.js';

afterEach(cleanup);

/** The status bar on a shared catalogue's replica (docs/architecture.md §13). */
describe('status bar on a shared catalogue', () => {
  const shared = (over: Partial<NonNullable<Status['shared']>>): Promise<Status> =>
    createFakeClient({ hits: 1 })
      .status()
      .then((s) => ({
        ...s,
        shared: {
          label: 'postgres://ann:***@nas/bindery',
          machine: 'laptop',
          pulledAt: 0,
          error: null,
          queued: 12,
          ...over,
        },
      }));

  it('names the server, this machine and the queue; nothing when the catalogue is local', async () => {
    const { rerender } = render(
      <StatusBar status={await shared({})} connection="open" onModels={() => undefined} />,
    );
    const item = screen.getByTestId('shared-status');
    expect(item.textContent).toBe('Shared catalogue');
    const title = item.parentElement!.getAttribute('title')!;
    expect(title).toContain('postgres://ann:***@nas/bindery');
    expect(title).toContain('as laptop');
    expect(title).toContain('12 files waiting');
    const local = await createFakeClient({ hits: 1 }).status();
    rerender(<StatusBar status={local} connection="open" onModels={() => undefined} />);
    expect(screen.queryByTestId('shared-status')).toBeNull();
  });

  it('warns that results are the last copy while the server cannot be reached', async () => {
    render(
      <StatusBar
        status={await shared({ error: 'connect ECONNREFUSED 10.0.0.2:5432' })}
        connection="open"
        onModels={() => undefined}
      />,
    );
    const item = screen.getByTestId('shared-status');
    expect(item.textContent).toBe('Shared catalogue offline');
    expect(item.parentElement!.className).toContain('warn');
    expect(item.parentElement!.getAttribute('title')).toMatch(
      /cannot be reached \(connect ECONNREFUSED.*Searching the copy/,
    );
  });
});
