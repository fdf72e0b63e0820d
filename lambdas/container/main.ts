import { runStepTask } from './step-task.js';

/** The container's entry point (Dockerfile): run the step, then end, whatever keeps the event loop busy (pg pools, sockets). */
process.exit(await runStepTask());
