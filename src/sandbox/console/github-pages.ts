// The pages the sandbox's links open, served by the console so that no link leaves the machine: what
// https://github.com would show for a run, a job and a commit. Runs and jobs come from the GitHub stand-in
// (its jobs, their steps and what each step did, as it simulated them); commits from the local repository
// (`git show`). Anything else under /github/ is a plain 404 that says what the sandbox does not have.
//
//   /github/<owner>/<repo>/actions/runs/<run id>             the run: its jobs, steps and logs
//   /github/<owner>/<repo>/actions/runs/<run id>/job/<job>   the same page, that job first and marked
//   /github/<owner>/<repo>/commit/<sha>                      the commit, from the repository on disk
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SimJob, SimRun } from '../github-simulator.js';

const execFileAsync = promisify(execFile);

export interface ConsolePage {
  status: number;
  html: string;
}

/** Answers a GET of `pathname` with a page, or undefined when the path is not this module's. */
export type ConsolePages = (pathname: string) => Promise<ConsolePage | undefined>;

export interface GithubPagesOptions {
  /** The GitHub stand-in's runs (GithubStandIn.run). */
  run(runId: number): SimRun | undefined;
  /** The stand-in's clock (GithubStandIn.now): what of a run has happened by now. */
  now(): number;
  /** The repository the commits are read from. */
  repoDir: string;
  owner: string;
  repo: string;
}

/** Where the pages live under the console (what GithubStandIn.setPagesUrl is given, after the origin). */
export const GITHUB_PAGES_PREFIX = '/github';

export const escapeHtml = (text: string): string =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const time = (ms: number | undefined): string =>
  ms === undefined
    ? '—'
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');

function took(from: number | undefined, to: number | undefined): string {
  if (from === undefined || to === undefined) return '';
  const seconds = Math.max(0, Math.round((to - from) / 1000));
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m ${seconds % 60}s` : `${seconds}s`;
}

function page(title: string, body: string, status = 200): ConsolePage {
  return {
    status,
    html: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #1f2328; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
  .note { color: #59636e; } .job { border: 1px solid #d1d9e0; border-radius: 6px; padding: .2rem 1rem 1rem; margin: 1rem 0; }
  .job.selected { border-color: #0969da; box-shadow: 0 0 0 2px #0969da33; }
  table { border-collapse: collapse; } td, th { text-align: left; padding: .15rem .8rem .15rem 0; vertical-align: top; }
  pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; border-radius: 6px; }
</style>
</head>
<body>
<p class="note">Sandbox · the page GitHub would show, served on this machine</p>
${body}
</body>
</html>
`,
  };
}

const notFound = (what: string): ConsolePage =>
  page('Not in the sandbox', `<h1>Not in the sandbox</h1><p>${escapeHtml(what)}</p>`, 404);

const CONCLUSION_MARK: Readonly<Record<string, string>> = {
  success: '✅',
  failure: '❌',
  cancelled: '⛔',
  skipped: '⏭️',
  timed_out: '⏱️',
};

const stateOf = (status: string, conclusion: string | null): string =>
  status === 'completed'
    ? `${CONCLUSION_MARK[conclusion ?? ''] ?? '❔'} ${conclusion ?? 'completed'}`
    : `⏳ ${status.replace(/_/g, ' ')}`;

/** A job's log as the stand-in played it: one group per step, when it ran and how it ended. */
function jobLog(job: SimJob, now: number): string {
  if (job.steps.length === 0)
    return `${time(job.completedAt)} (no step ran: ${job.conclusion ?? job.status})`;
  return job.steps
    .filter((step) => step.start <= now)
    .map((step) => {
      const ended = step.end <= now;
      return [
        `${time(step.start)} ##[group]${step.name}`,
        ended
          ? `${time(step.end)} ${step.conclusion === 'success' ? '' : `##[error]`}step ${step.conclusion}`
          : `${time(now)} … running`,
        '##[endgroup]',
      ].join('\n');
    })
    .join('\n');
}

function runPage(run: SimRun, selectedJob: number | undefined, now: number): ConsolePage {
  const jobs = run.jobs.filter((job) => job.status !== 'pending');
  const ordered =
    selectedJob === undefined
      ? jobs
      : [...jobs.filter((j) => j.id === selectedJob), ...jobs.filter((j) => j.id !== selectedJob)];
  const inputs = Object.entries(run.inputs)
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td><code>${escapeHtml(value)}</code></td></tr>`)
    .join('');
  const jobSections = ordered
    .map(
      (job) => `<section class="job${job.id === selectedJob ? ' selected' : ''}" id="job-${job.id}">
<h2>${escapeHtml(job.name)} · ${escapeHtml(stateOf(job.status, job.conclusion))}</h2>
<p class="note">started ${time(job.startedAt)} · completed ${time(job.completedAt)}${
        job.startedAt !== undefined && job.completedAt !== undefined
          ? ` · ${took(job.startedAt, job.completedAt)}`
          : ''
      }</p>
<table><tr><th>#</th><th>step</th><th>result</th><th>took</th></tr>${job.steps
        .map(
          (step) =>
            `<tr><td>${step.number}</td><td>${escapeHtml(step.name)}</td><td>${
              step.end <= now ? escapeHtml(stateOf('completed', step.conclusion)) : '⏳ in progress'
            }</td><td>${step.end <= now ? took(step.start, step.end) : ''}</td></tr>`,
        )
        .join('')}</table>
<pre>${escapeHtml(jobLog(job, now))}</pre>
</section>`,
    )
    .join('\n');
  return page(
    `${run.displayTitle} · ${run.workflowName} #${run.runNumber}`,
    `<h1>${escapeHtml(run.workflowName)} · run #${run.runNumber} (${run.id})</h1>
<p><b>${escapeHtml(run.displayTitle)}</b> · ${escapeHtml(stateOf(run.status, run.conclusion))}</p>
<p class="note">${escapeHtml(run.event)} by ${escapeHtml(run.actor.login)} on ${escapeHtml(run.ref)} (${escapeHtml(
      run.headSha.slice(0, 7),
    )}) · created ${time(run.createdAt)} · updated ${time(run.updatedAt)} · attempt ${run.attempt}</p>
<table>${inputs}</table>
${jobSections || '<p class="note">No job has been queued yet.</p>'}`,
  );
}

async function commitPage(repoDir: string, sha: string): Promise<ConsolePage> {
  try {
    const { stdout } = await execFileAsync(
      'git',
      ['-C', repoDir, 'show', '--stat', '--no-color', '--format=fuller', sha, '--'],
      { maxBuffer: 4 * 1024 * 1024 },
    );
    const title =
      stdout
        .split('\n')
        .find((line) => /^ {4}\S/.test(line))
        ?.trim() ?? sha;
    return page(
      `${title} · ${sha.slice(0, 7)}`,
      `<h1>Commit ${escapeHtml(sha)}</h1><pre>${escapeHtml(stdout)}</pre>`,
    );
  } catch {
    return notFound(`The local repository has no commit ${sha}.`);
  }
}

/** The console's pages under /github/ for one repository. */
export function githubPages(options: GithubPagesOptions): ConsolePages {
  const base = `${GITHUB_PAGES_PREFIX}/${options.owner}/${options.repo}`;
  return async (pathname) => {
    if (pathname !== GITHUB_PAGES_PREFIX && !pathname.startsWith(`${GITHUB_PAGES_PREFIX}/`)) return undefined;
    const rest = pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : undefined;
    const runMatch = rest === undefined ? null : /^\/actions\/runs\/(\d+)(?:\/job\/(\d+))?\/?$/.exec(rest);
    if (runMatch) {
      const run = options.run(Number(runMatch[1]));
      if (!run) return notFound(`The GitHub stand-in has no run ${runMatch[1]}.`);
      const job = runMatch[2] === undefined ? undefined : Number(runMatch[2]);
      if (job !== undefined && !run.jobs.some((j) => j.id === job)) {
        return notFound(`Run ${run.id} has no job ${job}.`);
      }
      return runPage(run, job, options.now());
    }
    const commitMatch = rest === undefined ? null : /^\/commit\/([0-9a-f]{4,40})\/?$/.exec(rest);
    if (commitMatch) return commitPage(options.repoDir, commitMatch[1]!);
    return notFound(`The sandbox has no page for ${pathname}.`);
  };
}
