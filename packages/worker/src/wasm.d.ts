// A .wasm import is a compiled WebAssembly.Module in workerd and wrangler.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
