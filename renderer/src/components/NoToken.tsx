import { Icon } from './Icons.js';

/**
 * Shown when the page was opened without the token that `bindery serve` puts in its URL, or with
 * one the running server refuses (`expired`: a link from an earlier run, which made a new token).
 */
export function NoToken({ expired = false }: { expired?: boolean }) {
  return (
    <main className="welcome">
      <div className="welcome-card">
        <Icon name="search" size={40} className="state-icon" />
        <h1>{expired ? 'This link has expired' : 'Bindery'}</h1>
        {expired ? (
          <p>
            Each run of <code>bindery serve</code> makes a new private token, and this page carries an older
            one. Run <code>bindery serve</code> again (or use the window where it runs) and open the URL it
            prints.
          </p>
        ) : (
          <p>
            This page needs the address that <code>bindery serve</code> printed — it carries a private access
            token after the <code>#</code>, so only you can open your library.
          </p>
        )}
        <ol>
          <li>
            In a terminal, run <code>bindery serve</code>.
          </li>
          <li>
            Open the URL it prints (it looks like <code>http://127.0.0.1:PORT/#token=…</code>).
          </li>
        </ol>
        <p className="muted">Nothing leaves this machine: the server only listens on the loopback address.</p>
      </div>
    </main>
  );
}
