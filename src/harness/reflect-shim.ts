// @peculiar/x509 depends on tsyringe, which refuses to load unless a Reflect
// metadata polyfill is present (`reflect-metadata`, not a dependency here).
// tsyringe only calls getMetadata/getOwnMetadata/defineMetadata, so this
// minimal shim supplies those when nothing better is installed. Import it
// before @peculiar/x509.
type Key = unknown;
const store = new WeakMap<object, Map<string | symbol | undefined, Map<Key, unknown>>>();

function bucket(target: object, prop: string | symbol | undefined, create: boolean): Map<Key, unknown> | undefined {
  let byProp = store.get(target);
  if (!byProp) {
    if (!create) return undefined;
    store.set(target, (byProp = new Map()));
  }
  let m = byProp.get(prop);
  if (!m && create) byProp.set(prop, (m = new Map()));
  return m;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== "function") {
  const getOwnMetadata = (key: Key, target: object, prop?: string | symbol): unknown => bucket(target, prop, false)?.get(key);
  R.defineMetadata = (key: Key, value: unknown, target: object, prop?: string | symbol): void => {
    bucket(target, prop, true)!.set(key, value);
  };
  R.getOwnMetadata = getOwnMetadata;
  R.getMetadata = (key: Key, target: object, prop?: string | symbol): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const m = bucket(t, prop, false);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
  R.hasMetadata = (key: Key, target: object, prop?: string | symbol): boolean => R.getMetadata !== undefined && (R.getMetadata as (k: Key, t: object, p?: string | symbol) => unknown)(key, target, prop) !== undefined;
  R.metadata = (key: Key, value: unknown) => (target: object, prop?: string | symbol) => {
    (R.defineMetadata as (k: Key, v: unknown, t: object, p?: string | symbol) => void)(key, value, target, prop);
  };
}
export {};
