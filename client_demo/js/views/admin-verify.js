// Verify at scale: the verifier's progress while it runs (streamed by the API), what it
// checked, each problem with links to its documents, and the last run kept with its time.
import { api } from '../api.js';
import { h, errorBox, showError, hide, busy, setChildren } from '../dom.js';
import { docLink, streamLines } from './admin-common.js';

function progressRow(phase) {
  const bar = h('progress', { max: 1, value: 0 });
  const text = h('span', { class: 'small mono' }, '0');
  return { el: h('li', { class: 'phase', testid: 'verify-phase', 'data-phase': phase }, h('span', { class: 'phase-name' }, phase), bar, text), bar, text };
}

function problemItem(p) {
  return h('li', { class: 'problem', testid: 'verify-problem', 'data-kind': p.kind },
    h('strong', {}, p.kind), ' ', h('span', {}, p.message),
    h('div', { class: 'problem-docs' }, (p.documents || []).map((d) => docLink(d, 'verify-doc'))));
}

function reportView(run) {
  const r = run.report;
  const kinds = Object.entries(r.problem_kinds || {});
  return h('div', { class: 'stack', testid: 'verify-report' },
    h('p', { class: `verdict ${r.ok ? 'verdict-ok' : 'verdict-bad'}`, testid: 'verify-status', 'data-ok': String(r.ok) },
      r.ok ? '✔ The books are consistent.' : `✘ ${r.problem_count} problem${r.problem_count === 1 ? '' : 's'} found.`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Finished'), h('dd', { testid: 'verify-finished' }, h('time', { datetime: run.finished_at, title: run.finished_at },
        new Date(run.finished_at).toLocaleString()), run.by ? ` by ${run.by}` : ''),
      h('dt', {}, 'Books as of'), h('dd', {}, r.snapshot_time || '—'),
      h('dt', {}, 'Accounts checked'), h('dd', { testid: 'verify-accounts' }, String(r.accounts_checked)),
      h('dt', {}, 'Postings checked'), h('dd', { testid: 'verify-postings' }, String(r.postings_checked)),
      h('dt', {}, 'Transfers checked'), h('dd', { testid: 'verify-transfers' }, String(r.transfers_checked)),
      h('dt', {}, 'Audit events checked'), h('dd', {}, String(r.audit_events_checked)),
      h('dt', {}, 'Took'), h('dd', {}, `${r.elapsed_seconds} s`)),
    kinds.length ? h('p', { class: 'small' }, 'By kind: ', kinds.map(([k, n]) => `${k} ${n}`).join(', ')) : null,
    r.problems.length ? h('ul', { class: 'problems', testid: 'verify-problems' }, r.problems.map(problemItem)) : null,
    r.problems_truncated ? h('p', { class: 'muted small' }, `Only the first ${r.problems.length} problems are listed; `,
      'run `flask --app server audit verify` for the full list.') : null);
}

export async function verifyView(root) {
  const run = h('button', { type: 'button', class: 'btn', testid: 'verify-run' }, 'Run the verifier');
  const progress = h('ul', { class: 'phases', testid: 'verify-progress', hidden: true });
  const result = h('div', { testid: 'verify-result' });
  const err = errorBox('verify-error');
  const phases = new Map();

  async function showLast() {
    try {
      const last = await api('/admin/audit/verify/last');
      if (result.dataset.source !== 'this') {  // a run started meanwhile wins
        result.dataset.source = 'last';
        setChildren(result, h('h2', {}, 'Last run'), reportView(last));
      }
    } catch (e) {
      if (e.status === 404) setChildren(result, h('p', { class: 'muted', testid: 'verify-never' }, 'The verifier has not run yet.'));
      else showError(err, e);
    }
  }

  async function check() {
    hide(err);
    phases.clear();
    progress.replaceChildren();
    progress.hidden = false;
    let finished = null;
    await streamLines('/admin/audit/verify/runs', {
      onLine(line) {
        if (line.progress) {
          const p = line.progress;
          if (!phases.has(p.phase)) {
            phases.set(p.phase, progressRow(p.phase));
            progress.append(phases.get(p.phase).el);
          }
          const row = phases.get(p.phase);
          if (p.total) row.bar.max = p.total;
          row.bar.value = p.final ? row.bar.max || 1 : p.done;
          if (p.final && !p.total) row.bar.max = 1;
          row.text.textContent = `${p.done}${p.total ? ` / ${p.total}` : ''}${p.final ? ' ✔' : ''}`;
        } else if (line.run) {
          finished = line.run;
        } else if (line.error) {
          throw new Error(line.error.message);
        }
      },
    });
    if (finished) {
      result.dataset.source = 'this';
      setChildren(result, h('h2', {}, 'This run'), reportView(finished));
    }
  }

  run.addEventListener('click', () => busy(run, () => check().catch((e) => showError(err, e))));
  root.append(h('section', { class: 'card stack', testid: 'view-verify' },
    h('h1', {}, 'Verify the books'),
    h('p', { class: 'muted' }, 'Recomputes every posting’s hash and chain link, checks that each balance equals the sum of its postings, ',
      'that all balances sum to zero, that every transfer has its two postings and its audit event, and that every ledger ',
      'event names its transfer. It reads one consistent snapshot, page by page.'),
    h('div', { class: 'row' }, run), err, progress, result));
  await showLast();
}
