/**
 * Ends the run with one plain line, `N passed, N failed` (`, N skipped` when some were), after
 * Jest's own summary, so that CI reads the count. A test file that could not run counts as one
 * failure: its tests were never counted. Printed at exit, since Jest's summary reporter runs last.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `\n${results.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`;
    process.once('exit', () => process.stdout.write(line));
  }
}

module.exports = SummaryReporter;
