/**
 * A Jest environment that runs every test file in Node's own realm, as production runs the code.
 *
 * Jest's node environment gives each file a vm context of its own, with its own Error, Object and
 * Promise. Errors that Node raises (ECONNREFUSED, ECONNRESET) come from the main realm and fail
 * `instanceof Error` in the test's realm; the AWS SDK then wraps them without their `code`, and
 * the S3 retry tests would check a classification that production never sees (jestjs/jest#2549).
 *
 * Jest compiles CommonJS with vm.compileFunction and ES modules with vm.SourceTextModule /
 * SyntheticModule, passing the environment's context; for the context of this environment, those
 * calls go to the main context instead (no context given). Jest still creates one module registry
 * per test file, so modules stay fresh per file; what Node itself holds (process.env, listeners)
 * is shared by the files one worker runs, as in any single process, and so is what a library puts
 * on the global object (see setup).
 */
import vm from 'node:vm';
import { LegacyFakeTimers, ModernFakeTimers } from '@jest/fake-timers';
import { ModuleMocker } from 'jest-mock';
import { TestEnvironment } from 'jest-environment-node';

/** The context this environment hands Jest; code compiled "in" it runs in the main context. */
const MAIN = vm.createContext(globalThis);

function inMain(options) {
  if (options?.context !== MAIN && options?.parsingContext !== MAIN) return options;
  const { context: _context, parsingContext: _parsingContext, ...rest } = options;
  return rest;
}

/** Modules made here report MAIN as their context, so Jest passes it on to the modules they import. */
function reportMain(module) {
  Object.defineProperty(module, 'context', { value: MAIN, configurable: true });
  return module;
}

if (!vm.compileFunction.mainRealmPatched) {
  const { compileFunction, SourceTextModule, SyntheticModule } = vm;
  vm.compileFunction = Object.assign((code, params, options) => compileFunction(code, params, inMain(options)), { mainRealmPatched: true });
  vm.SourceTextModule = class extends SourceTextModule {
    constructor(code, options) {
      const main = options?.context === MAIN;
      super(code, inMain(options));
      if (main) reportMain(this);
    }
  };
  vm.SyntheticModule = class extends SyntheticModule {
    constructor(exportNames, evaluate, options) {
      const main = options?.context === MAIN;
      super(exportNames, evaluate, inMain(options));
      if (main) reportMain(this);
    }
  };
}

const timerIdToRef = (id) => ({
  id,
  ref() {
    return this;
  },
  unref() {
    return this;
  },
});

export default class SingleContextEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global = globalThis;
    this.context = MAIN;
    this.moduleMocker = new ModuleMocker(globalThis);
    this.fakeTimers = new LegacyFakeTimers({
      config: config.projectConfig,
      global: globalThis,
      moduleMocker: this.moduleMocker,
      timerConfig: { idToRef: timerIdToRef, refToId: (timer) => timer?.id },
    });
    this.fakeTimersModern = new ModernFakeTimers({ config: config.projectConfig, global: globalThis });
  }

  /**
   * aws-cdk-lib keeps its token map on the global object (`__cdkTokenMap`), made by the first file
   * that synthesizes and holding that file's modules. Shared, a later file's synth called into the
   * earlier file's module registry, which Jest tears down after each file: "TokenizedStringFragments
   * is not a constructor", in whichever CDK tests a worker happened to run after another. Each file
   * starts without one.
   */
  async setup() {
    await super.setup();
    delete globalThis.__cdkTokenMap;
  }

  getVmContext() {
    return this.context;
  }
}
