export * from './dtype';
export * from './errors';
export * from './tensor';
export * from './random';
export * from './factories';
export * from './elementwise';
export * from './reduce';
export * from './check';
