import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The test runner's environment without anything that would configure Parley, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('PARLEY_') || ['PORT', 'HOST', 'DATA_DIR', 'DATABASE_URL', 'REDIS_URL'].includes(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** `node <args>` in the repository with a clean environment; resolves with its exit code and output. */
export function runNode(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: repoRoot, env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The `parley` command as an operator runs it (from source, through tsx). */
export function parley(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runNode(['--import', 'tsx', 'src/main.ts', ...args], env);
}
