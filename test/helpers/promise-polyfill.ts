// aws-local-stepfunctions 3 needs Promise.withResolvers (Node 22+). Without it on Node 20 every Task
// fails with a TypeError, which a machine's Catch turns into a plausible-looking failure alert.
if (!('withResolvers' in Promise)) {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
