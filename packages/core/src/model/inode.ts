import { RwSem, SpinLock } from '../kernel/locks.js';
import type { HugePage } from './page.js';
import { ResvMap } from './resv.js';
import type { Vma } from './mm.js';

/** A hugetlbfs inode with its address_space (page cache, i_mmap, i_mmap_rwsem) and resv_map. */
export class Inode {
  /** i_size in bytes. */
  size: number;
  /** Page cache: huge-page index -> page. */
  readonly pageCache = new Map<number, HugePage>();
  /** mapping->i_mmap: the VMAs that map this file (the interval tree, kept in insertion order). */
  readonly iMmap: Vma[] = [];
  /** mapping->i_mmap_rwsem; hugetlbfs gives it the lockdep class hugetlbfs_i_mmap_rwsem_key. */
  readonly iMmapRwsem: RwSem;
  /** inode->i_rwsem (inode_lock), held by truncate, punch hole and fallocate. */
  readonly iRwsem: RwSem;
  readonly iLock: SpinLock;
  /** mapping->private_data: the shared resv_map. */
  readonly resvMap: ResvMap;
  /** i_blocks in huge pages. */
  blocks = 0;
  /** Storage for a strategy's per-inode state (e.g. hinode_rwsem). */
  readonly ext: Record<string, unknown> = {};
  constructor(
    readonly id: number,
    readonly name: string,
    size: number,
  ) {
    this.size = size;
    this.iMmapRwsem = new RwSem(`rwsem:i_mmap#${name}`, 'hugetlbfs_i_mmap_rwsem_key');
    this.iRwsem = new RwSem(`rwsem:i_rwsem#${name}`, 'i_rwsem');
    this.iLock = new SpinLock(`spin:i_lock#${name}`, 'i_lock');
    this.resvMap = new ResvMap(`inode#${name}`);
    this.objId = `inode:${name}`;
    this.sizeObj = `i_size:${name}`;
    this.cacheObj = `pagecache:${name}`;
    this.iMmapObj = `i_mmap:${name}`;
  }
  /** Footprint object names (built once). */
  readonly objId: string;
  readonly sizeObj: string;
  readonly cacheObj: string;
  readonly iMmapObj: string;
}
