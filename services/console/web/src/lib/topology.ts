// The five-level hierarchy as the page needs it: look-ups by id, children in order, and "in the
// subtree" — for an event: its grid or the unit that has it now is in the subtree, the same rule
// as the gateway's (DESIGN.md "Jurisdiction"); the page only narrows what the gateway already
// allowed, it never widens it.

import type { Level, Unit } from '../api/types';

export interface TopoUnit {
  id: string;
  name: string;
  level: Level;
  parentId: string;
  department: boolean;
  lat: number;
  lng: number;
  // The unit itself and every ancestor up to the root of what was loaded, nearest first.
  ancestors: readonly string[];
}

export class Topology {
  readonly units = new Map<string, TopoUnit>();
  readonly children = new Map<string, TopoUnit[]>();
  readonly rootId: string;

  constructor(units: readonly Unit[]) {
    for (const unit of units) {
      const id = unit.id ?? '';
      this.units.set(id, {
        id,
        name: unit.name ?? id,
        level: unit.level ?? 'LEVEL_UNSPECIFIED',
        parentId: unit.parent_id ?? '',
        department: unit.kind === 'UNIT_KIND_DEPARTMENT',
        lat: unit.center?.lat ?? Number.NaN,
        lng: unit.center?.lng ?? Number.NaN,
        ancestors: [],
      });
    }
    let root = '';
    for (const unit of this.units.values()) {
      const parent = this.units.get(unit.parentId);
      if (parent === undefined) {
        // The top of what the caller may see: the district for an operator of it, the home unit
        // for a handler.
        if (root === '' || levelRank(unit.level) > levelRank(this.units.get(root)!.level)) {
          root = unit.id;
        }
        continue;
      }
      let siblings = this.children.get(parent.id);
      if (siblings === undefined) {
        siblings = [];
        this.children.set(parent.id, siblings);
      }
      siblings.push(unit);
    }
    for (const siblings of this.children.values()) {
      // Areas first, then departments; each by code, which follows the district's numbering.
      siblings.sort((a, b) => Number(a.department) - Number(b.department) || a.id.localeCompare(b.id));
    }
    for (const unit of this.units.values()) {
      const chain: string[] = [];
      for (let at: TopoUnit | undefined = unit; at !== undefined && chain.length < 8; ) {
        chain.push(at.id);
        at = this.units.get(at.parentId);
      }
      unit.ancestors = chain;
    }
    this.rootId = root;
  }

  get(id: string): TopoUnit | undefined {
    return this.units.get(id);
  }

  name(id: string): string {
    return this.units.get(id)?.name ?? id;
  }

  childrenOf(id: string): readonly TopoUnit[] {
    return this.children.get(id) ?? [];
  }

  // True when `unitId` is `rootId` or below it.
  unitInSubtree(unitId: string | undefined, rootId: string): boolean {
    if (unitId === undefined || unitId === '') {
      return false;
    }
    const unit = this.units.get(unitId);
    return unit !== undefined && unit.ancestors.includes(rootId);
  }

  // An event (its grid and the unit that has it now) in the subtree of `rootId`.
  eventInSubtree(gridId: string | undefined, unitId: string | undefined, rootId: string): boolean {
    return rootId === this.rootId || this.unitInSubtree(gridId, rootId) || this.unitInSubtree(unitId, rootId);
  }

  // The grids (units with a centre) of a subtree.
  gridsOf(rootId: string): TopoUnit[] {
    const grids: TopoUnit[] = [];
    for (const unit of this.units.values()) {
      if (unit.level === 'LEVEL_GRID' && unit.ancestors.includes(rootId)) {
        grids.push(unit);
      }
    }
    return grids;
  }

  // The path from the root to `id`, root first.
  pathTo(id: string): TopoUnit[] {
    const unit = this.units.get(id);
    if (unit === undefined) {
      return [];
    }
    return unit.ancestors.map((ancestor) => this.units.get(ancestor)!).reverse();
  }
}

export function levelRank(level: Level): number {
  switch (level) {
    case 'LEVEL_GRID':
      return 1;
    case 'LEVEL_COMMUNITY':
      return 2;
    case 'LEVEL_ZONE':
      return 3;
    case 'LEVEL_SUBDISTRICT':
      return 4;
    case 'LEVEL_DISTRICT':
      return 5;
    case 'LEVEL_CITY':
      return 6;
    case 'LEVEL_PROVINCE':
      return 7;
    default:
      return 0;
  }
}
