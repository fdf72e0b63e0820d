// PLACEHOLDER created by infra; replaced by the handler implementation.
export const handler = async (): Promise<never> => { throw new Error('not implemented'); };
