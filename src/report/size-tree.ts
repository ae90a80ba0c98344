import type { FileRecord } from '../inventory/types.js';
import type { DiffMark, FileOwner, SizeNode } from './types.js';

interface Folder {
  name: string;
  folders: Map<string, Folder>;
  files: SizeNode[];
}

const newFolder = (name: string): Folder => ({ name, folders: new Map(), files: [] });

/** A folder as a node: its size is its children's, and a folder with one child folder is merged into it (usr/lib/x86_64-linux-gnu). */
function toNode(f: Folder, merge = true): SizeNode {
  const children = [...[...f.folders.values()].map((x) => toNode(x)), ...f.files].sort(
    (a, b) => b.size - a.size || (a.name < b.name ? -1 : 1),
  );
  if (merge && children.length === 1 && children[0]!.children)
    return { ...children[0]!, name: `${f.name}/${children[0]!.name}` };
  return { name: f.name, size: children.reduce((n, c) => n + c.size, 0), children };
}

export interface SizeTreeInputs {
  /** The root's entries (the manifest's initrdFiles). */
  readonly files: readonly FileRecord[];
  readonly ownerOf: (f: FileRecord) => FileOwner;
  /** Every package of the SBOM with its owner: each gets a node, even when none of its files is in the root. */
  readonly packages: readonly string[];
  readonly packageOwner: (name: string) => FileOwner;
  /** Files outside the root that the output carries (the ISO's kernel), with their owner. */
  readonly extra?: readonly { readonly path: string; readonly size: number; readonly owner: FileOwner }[];
  readonly fileDiff?: (f: FileRecord) => DiffMark | undefined;
  readonly packageDiff?: (name: string) => DiffMark | undefined;
}

const ownerId = (o: FileOwner) => `${o.kind}\0${o.name}`;

/**
 * The output's root as a tree: owner → folder → file, owners and folders sized by what they
 * hold. Regular files only: links and folders take no room worth drawing.
 */
export function makeSizeTree(i: SizeTreeInputs): SizeNode {
  const owners = new Map<string, { owner: FileOwner; root: Folder; pkg?: string }>();
  const rootOf = (owner: FileOwner) => {
    const id = ownerId(owner);
    let o = owners.get(id);
    if (!o) owners.set(id, (o = { owner, root: newFolder(owner.name) }));
    return o.root;
  };
  for (const name of i.packages) {
    rootOf(i.packageOwner(name));
    owners.get(ownerId(i.packageOwner(name)))!.pkg = name;
  }
  const add = (owner: FileOwner, path: string, leaf: SizeNode) => {
    const parts = path.split('/').filter(Boolean);
    let folder = rootOf(owner);
    for (const part of parts.slice(0, -1)) {
      let next = folder.folders.get(part);
      if (!next) folder.folders.set(part, (next = newFolder(part)));
      folder = next;
    }
    folder.files.push(leaf);
  };
  for (const f of i.files) {
    if (f.type !== 'file') continue;
    const mark = i.fileDiff?.(f);
    add(i.ownerOf(f), f.path, {
      name: f.path.slice(f.path.lastIndexOf('/') + 1),
      size: f.size ?? 0,
      ...(mark ? { diff: mark } : {}),
    });
  }
  for (const x of i.extra ?? [])
    add(x.owner, x.path, { name: x.path.slice(x.path.lastIndexOf('/') + 1), size: x.size });
  const children = [...owners.values()]
    .map(({ owner, root, pkg }) => {
      const node = toNode(root, false);
      const mark = pkg === undefined ? undefined : i.packageDiff?.(pkg);
      return {
        ...node,
        name: owner.name,
        owner,
        ...(pkg ? { package: pkg } : {}),
        ...(mark ? { diff: mark } : {}),
      };
    })
    .sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
  return { name: '/', size: children.reduce((n, c) => n + c.size, 0), children };
}
