import { buildWeb } from '../web/build.js';

/** The e2e tests drive the built app that the server serves: build it when missing or stale. */
export default async function setup(): Promise<void> {
  if (await buildWeb({ ifStale: true, quiet: true })) console.log('Built web/dist for the e2e tests.');
}
