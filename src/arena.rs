//! The binary's allocator: the system allocator, except while a [`Keep`] is held, when
//! allocations come from one region of address space reserved for objects that live to the
//! end of the process, carved off in order and never given back.
//!
//! Why: a run whose event table and session graph come from `--cache` decodes them into a
//! few hundred thousand strings and records that it keeps to the end (the process hands them
//! to the OS at exit). Through the system allocator each of them costs a `malloc`, and the
//! heap grows a 4 KiB page fault at a time: on a 1 GB trail a warm `plan` took 46,000 faults,
//! and the kernel's share of its time was 40%. From the region, an allocation is a pointer
//! bump, and the memory of each piece the region hands out is backed in one call
//! (`MADV_POPULATE_WRITE`) rather than page by page.
//!
//! Transparent huge pages (`MADV_HUGEPAGE` on the region) were tried: faster still in a row of
//! warm runs, but 40% slower on the first warm run after a cold one (the command a responder
//! runs right after filling the cache), the kernel spending half the run zeroing 2 MiB pages.
//!
//! A block of the region that is freed is not reused (its memory stays until the process
//! ends), so a [`Keep`] is held only around code that allocates what it keeps: the decoding of
//! a cache file whose seal was checked. What such code allocates and drops (a temporary, a
//! vector's buffer before it grew, or, should the bytes fail to decode after all, everything
//! decoded so far) stays resident to the end; so does what another thread allocates while
//! the [`Keep`] is held (a warm run reads the files it decodes before it takes one, and has
//! no other work while it holds it). A block reallocated is copied to
//! a new one. Freeing, or reallocating, a block of the system allocator is handed to it
//! whatever the mode: the region is known by its address range. When the region cannot be
//! reserved, or is used up, allocations go to the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Address space reserved (not memory: pages are only backed once handed out): 16 GiB on a
/// 64-bit target, 1 GiB on a 32-bit one.
const RESERVE: usize = if usize::BITS >= 64 { 1 << (usize::BITS / 2 + 2) } else { 1 << 30 };
/// What a thread takes from the region at a time, and bumps through alone.
const CHUNK: usize = 1 << 20;
/// Larger blocks are taken from the region directly, not from a thread's chunk.
const LARGE: usize = CHUNK / 8;

/// The region: its start (0 until reserved) and the offset of its first byte not handed out.
static START: AtomicUsize = AtomicUsize::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// How many [`Keep`]s are held, on any thread.
static KEEPING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The part of this thread's chunk not handed out yet: (next, end) addresses.
    static CHUNK_LEFT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// The global allocator of the `trailhound` binary (see the module docs).
pub struct Alloc;

/// While one is held, on any thread, allocations come from the region ([`Keep::begin`]).
pub struct Keep(());

impl Keep {
    /// Allocations of every thread come from the region until the returned value is dropped.
    /// Reserves the region the first time (no effect when that fails, nor in a program whose
    /// global allocator is not [`Alloc`]).
    pub fn begin() -> Keep {
        if START.load(Relaxed) == 0 {
            reserve();
        }
        KEEPING.fetch_add(1, Relaxed);
        Keep(())
    }
}

impl Drop for Keep {
    fn drop(&mut self) {
        KEEPING.fetch_sub(1, Relaxed);
    }
}

/// The region's map, kept for the life of the process: blocks in it are handed out and never
/// unmapped. `None` when it could not be reserved.
static REGION: std::sync::OnceLock<Option<memmap2::MmapMut>> = std::sync::OnceLock::new();

/// Reserves the region: address space only. Not under strict overcommit accounting
/// (`vm.overcommit_memory = 2`), where the kernel would count all of it as committed memory.
fn reserve() {
    let map = REGION.get_or_init(|| {
        let strict =
            std::fs::read("/proc/sys/vm/overcommit_memory").is_ok_and(|b| b.starts_with(b"2"));
        if strict {
            return None;
        }
        memmap2::MmapOptions::new().len(RESERVE).no_reserve_swap().map_anon().ok()
    });
    if let Some(map) = map {
        START.store(map.as_ptr() as usize, Relaxed);
    }
}

/// Backs the `len` bytes at `offset` in the region with memory now, in one call, rather than
/// a page fault for each page on first write (most of what the kernel spent on a warm run).
fn populate(offset: usize, len: usize) {
    #[cfg(target_os = "linux")]
    if let Some(Some(map)) = REGION.get() {
        // Best effort: an older kernel refuses it, and the pages fault in as they are written.
        let _ = map.advise_range(memmap2::Advice::PopulateWrite, offset, len);
    }
}

/// True when `p` is in the region.
fn in_region(p: *mut u8) -> bool {
    let start = START.load(Relaxed);
    start != 0 && (p as usize).wrapping_sub(start) < RESERVE
}

/// `size` bytes aligned to `align` taken from the region's next free bytes; `None` when it
/// is not reserved or has no room.
fn take(size: usize, align: usize) -> Option<usize> {
    let start = START.load(Relaxed);
    if start == 0 {
        return None;
    }
    // Every range taken is aligned to 64 bytes (larger alignments are left to the system).
    let size = size.checked_add(63)? & !63;
    if align > 64 {
        return None;
    }
    // Moved on only when the range fits: a region used up stays used up (a failed take that
    // still moved it on could wrap it round, and hand out what is in use).
    let at = NEXT
        .fetch_update(Relaxed, Relaxed, |at| at.checked_add(size).filter(|&end| end <= RESERVE))
        .ok()?;
    populate(at, size);
    Some(start + at)
}

/// A block of the region for `layout`, from this thread's chunk (a new chunk when it has no
/// room); `None` when the region cannot give one.
fn bump(layout: Layout) -> Option<*mut u8> {
    let (size, align) = (layout.size().max(1), layout.align());
    if align > 64 {
        return None; // every range the region gives is aligned to 64 bytes, no more
    }
    if size >= LARGE {
        return take(size, align).map(|a| a as *mut u8);
    }
    // `try_with`: never a panic inside the allocator (this thread's storage being torn down).
    CHUNK_LEFT
        .try_with(|c| {
            let (next, end) = c.get();
            let at = next.checked_next_multiple_of(align)?;
            if next != 0 && at.checked_add(size)? <= end {
                c.set((at + size, end));
                return Some(at as *mut u8);
            }
            let fresh = take(CHUNK, 64)?;
            let at = fresh.checked_next_multiple_of(align)?;
            c.set((at + size, fresh + CHUNK));
            Some(at as *mut u8)
        })
        .ok()
        .flatten()
}

/// A block of the region for `layout`, while a [`Keep`] is held and the region has room.
#[inline]
fn kept(layout: Layout) -> Option<*mut u8> {
    if KEEPING.load(Relaxed) == 0 {
        return None;
    }
    bump(layout)
}

// SAFETY: blocks from the region are disjoint (each range is taken once, with an atomic add,
// from address space mapped for the life of the process), aligned as asked (alignments above
// 64 bytes go to the system), and never freed; every other block is the system allocator's,
// and it is handed back to it.
unsafe impl GlobalAlloc for Alloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        kept(layout).unwrap_or_else(|| unsafe { System.alloc(layout) })
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // The region's bytes are handed out once, fresh from an anonymous map: zero.
        // SAFETY: as above.
        kept(layout).unwrap_or_else(|| unsafe { System.alloc_zeroed(layout) })
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !in_region(ptr) {
            // SAFETY: a block of the system allocator, with its layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_region(ptr) {
            // SAFETY: a block of the system allocator, with its layout and a valid new size.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if new_size <= layout.size() {
            return ptr; // the block is large enough (its end is never handed out again)
        }
        // SAFETY: the caller guarantees the new layout is valid.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout of non-zero size.
        let p = unsafe { self.alloc(new) };
        if !p.is_null() {
            // SAFETY: both blocks are at least this long and do not overlap (the new one is
            // taken after the old one was handed out).
            unsafe { std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size)) };
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Assumes no other unit test holds a [`Keep`] meanwhile: one is only taken when a run's
    /// table or graph is loaded from a cache, which no unit test does.
    #[test]
    fn blocks_come_from_the_region_only_while_kept_and_are_never_reused() {
        let a = Alloc;
        let small = Layout::from_size_align(24, 8).unwrap();
        let aligned = Layout::from_size_align(100, 64).unwrap();
        let big = Layout::from_size_align(3 * LARGE, 16).unwrap();
        // SAFETY: valid layouts; every block is freed with its own layout.
        unsafe {
            let before = a.alloc(small);
            assert!(!in_region(before), "not kept yet: the system allocator's");
            let keep = Keep::begin();
            if START.load(Relaxed) == 0 {
                return; // no address space to reserve on this machine: nothing to test
            }
            let p = a.alloc(small);
            let q = a.alloc(small);
            let r = a.alloc(aligned);
            let z = a.alloc_zeroed(big);
            for (x, l) in [(p, small), (q, small), (r, aligned), (z, big)] {
                assert!(in_region(x), "kept: from the region");
                assert_eq!(x as usize % l.align(), 0, "aligned");
            }
            assert!(q as usize >= p as usize + 24 || p as usize >= q as usize + 24, "disjoint");
            let page = Layout::from_size_align(100, 4096).unwrap();
            let x = a.alloc(page);
            assert!(!in_region(x) && x as usize % 4096 == 0, "above 64: the system's, aligned");
            a.dealloc(x, page);
            assert!(std::slice::from_raw_parts(z, big.size()).iter().all(|&b| b == 0));
            // Growing a block of the region copies it; freeing one is a no-op (never reused).
            std::ptr::copy_nonoverlapping(b"0123456789abcdefghijklmn".as_ptr(), p, 24);
            let grown = a.realloc(p, small, 4000);
            assert!(in_region(grown) && grown != p);
            assert_eq!(std::slice::from_raw_parts(grown, 24), b"0123456789abcdefghijklmn");
            assert_eq!(a.realloc(grown, Layout::from_size_align(4000, 8).unwrap(), 10), grown);
            a.dealloc(q, small);
            let again = a.alloc(small);
            assert_ne!(again, q, "a freed block of the region is not handed out again");
            // A block of the system allocator stays its own, kept or not.
            let moved = a.realloc(before, small, 48);
            assert!(!in_region(moved));
            drop(keep);
            let after = a.alloc(small);
            assert!(!in_region(after), "no longer kept: the system allocator's again");
            a.dealloc(after, small);
            a.dealloc(moved, Layout::from_size_align(48, 8).unwrap());
            for (x, l) in [(grown, Layout::from_size_align(4000, 8).unwrap()), (r, aligned)] {
                a.dealloc(x, l);
            }
            a.dealloc(z, big);
            a.dealloc(again, small);
        }
    }
}
