/** x86-64 with 2 MiB huge pages mapped at PMD level, 1 GiB PUD ranges. */
export const PAGE_SHIFT = 12;
export const HPAGE_SHIFT = 21;
export const PUD_SHIFT = 30;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const HPAGE_SIZE = 2 ** HPAGE_SHIFT;
export const PUD_SIZE = 2 ** PUD_SHIFT;
export const PTRS_PER_PMD = 512;
/** huge_page_order(h): 4 KiB pages per huge page, as a shift. */
export const HPAGE_ORDER = HPAGE_SHIFT - PAGE_SHIFT;

export const pudIndex = (addr: number): number => Math.floor(addr / PUD_SIZE);
export const pmdIndex = (addr: number): number => Math.floor(addr / HPAGE_SIZE) % PTRS_PER_PMD;
export const hpageAlignDown = (addr: number): number => Math.floor(addr / HPAGE_SIZE) * HPAGE_SIZE;
export const pudAlignDown = (addr: number): number => Math.floor(addr / PUD_SIZE) * PUD_SIZE;
