//! The binary's global allocator: on a warm `--cache` run, large blocks on transparent huge
//! pages.
//!
//! A warm run reads and decodes about 200 MB of cache at 1 GB of trail in a few hundred
//! milliseconds, and spent about 40% of that time first-touching fresh memory: every 4 KiB
//! page of a new block is a page fault that the kernel zeroes and charges to the process.
//! Once [`huge_pages`] is switched on (by the ingest, when a run is about to be taken whole
//! from the cache), blocks of [`LARGE`] bytes or more (the cache's read buffers, the event
//! table, the graph's node array) are mapped directly, aligned to 2 MiB and marked
//! `MADV_HUGEPAGE`, so that one fault maps 2 MiB where the kernel allows transparent huge
//! pages (the usual `madvise` setting; elsewhere the mapping simply uses small pages).
//! Everything else goes to the system allocator. A cold run keeps the system allocator for
//! everything: there, huge pages measured about 8% slower and 50 MB more peak memory (glibc
//! reuses the per-file buffers a cold run frees and allocates again; fresh mappings do not).
//!
//! Which allocator owns a block is recorded, not inferred: the mapped blocks' addresses are
//! kept in a fixed table ([`SLOTS`] entries, no allocation), so the switch can change at any
//! time and every block still goes back where it came from. When the table is full, blocks
//! come from the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Blocks at least this large are mapped on their own while the switch is on (4 MiB).
pub const LARGE: usize = 4 << 20;
/// The huge page size the mappings are aligned to.
const HUGE: usize = 2 << 20;
/// How many mapped blocks can be alive at once.
const SLOTS: usize = 1024;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

/// Switches huge-page mappings for new large blocks on or off (module docs).
pub fn huge_pages(on: bool) {
    ON.store(on && cfg!(target_os = "linux"), Ordering::Relaxed);
}

/// The allocator (module docs). Installed by the binary with `#[global_allocator]`.
pub struct HugePages;

fn map_len(size: usize) -> usize {
    size.div_ceil(HUGE) * HUGE
}

fn wanted(layout: &Layout) -> bool {
    layout.size() >= LARGE && layout.align() <= 4096 && ON.load(Ordering::Relaxed)
}

/// Records `p` as mapped; false when the table is full.
fn register(p: usize) -> bool {
    LIVE.iter().any(|s| s.compare_exchange(0, p, Ordering::AcqRel, Ordering::Relaxed).is_ok())
}

/// Forgets `p`; true when it was a mapped block.
fn unregister(p: usize) -> bool {
    LIVE.iter().any(|s| s.compare_exchange(p, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok())
}

fn is_mapped(p: usize) -> bool {
    LIVE.iter().any(|s| s.load(Ordering::Acquire) == p)
}

/// A fresh zeroed mapping of `map_len(size)` bytes aligned to [`HUGE`], or null.
#[cfg(target_os = "linux")]
fn map(size: usize) -> *mut u8 {
    let len = map_len(size);
    // SAFETY: an anonymous private mapping, then unmapping the parts of it outside the
    // aligned block; nothing else refers to these addresses.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len + HUGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let start = p as usize;
        let aligned = start.next_multiple_of(HUGE);
        if aligned > start {
            libc::munmap(p, aligned - start);
        }
        let tail = start + len + HUGE - (aligned + len);
        if tail > 0 {
            libc::munmap((aligned + len) as *mut libc::c_void, tail);
        }
        libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        if !register(aligned) {
            libc::munmap(aligned as *mut libc::c_void, len);
            return std::ptr::null_mut();
        }
        aligned as *mut u8
    }
}

#[cfg(not(target_os = "linux"))]
fn map(_: usize) -> *mut u8 {
    std::ptr::null_mut()
}

/// Unmaps `p` when it is a mapped block of `size` bytes; false when it is not one.
fn unmap(p: *mut u8, size: usize) -> bool {
    if size < LARGE || !unregister(p as usize) {
        return false;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `p` and `map_len(size)` are exactly what `map` returned and registered.
    unsafe {
        libc::munmap(p.cast(), map_len(size));
    }
    true
}

// SAFETY: a block comes from `map` (recorded in LIVE) or from `System`, and `dealloc` and
// `realloc` send it back to the one that LIVE says. Mapped blocks are 2 MiB aligned (more
// than the at most 4096 a mapped layout asks for) and zeroed by the kernel.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if wanted(&layout) {
            let p = map(layout.size());
            if !p.is_null() {
                return p;
            }
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if wanted(&layout) {
            let p = map(layout.size());
            if !p.is_null() {
                return p;
            }
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if !unmap(p, layout.size()) {
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let mapped = layout.size() >= LARGE && is_mapped(p as usize);
        // SAFETY: the caller guarantees `new_size` is a valid size for `layout.align()`.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !mapped && !wanted(&new) {
            return unsafe { System.realloc(p, layout, new_size) };
        }
        if mapped && new_size >= LARGE && map_len(new_size) == map_len(layout.size()) {
            return p;
        }
        let q = unsafe { self.alloc(new) };
        if !q.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                self.dealloc(p, layout);
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(a: &HugePages, layout: Layout) -> *mut u8 {
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert_eq!(p as usize % layout.align(), 0);
            assert!(std::slice::from_raw_parts(p, layout.size()).iter().all(|&b| b == 0));
            for i in (0..layout.size()).step_by(4093) {
                *p.add(i) = (i % 251) as u8;
            }
            p
        }
    }

    /// One test owns the switch (tests run in parallel threads of one process).
    #[test]
    fn blocks_keep_their_bytes_through_realloc_and_go_back_where_they_came_from() {
        let a = HugePages;
        for on in [true, false, true] {
            huge_pages(on);
            for size in [LARGE / 2, LARGE - 1, LARGE, LARGE + 1, 3 * LARGE + 12_345] {
                let layout = Layout::from_size_align(size, 64).unwrap();
                unsafe {
                    let p = filled(&a, layout);
                    assert_eq!(is_mapped(p as usize), on && size >= LARGE, "{size} {on}");
                    a.dealloc(p, layout);
                    // Grow across the threshold and by several huge pages, within one huge
                    // page, and shrink below the threshold; the switch flips between the
                    // allocation and the realloc, and between the realloc and the free.
                    for new_size in [size * 2 + 7, size + 1, LARGE / 2] {
                        let p = filled(&a, layout);
                        huge_pages(!on);
                        let q = a.realloc(p, layout, new_size);
                        assert!(!q.is_null());
                        for i in (0..size.min(new_size)).step_by(4093) {
                            assert_eq!(*q.add(i), (i % 251) as u8, "byte {i}: {size}->{new_size}");
                        }
                        huge_pages(on);
                        a.dealloc(q, Layout::from_size_align(new_size, 64).unwrap());
                    }
                }
            }
        }
        huge_pages(false);
        assert!(LIVE.iter().all(|s| s.load(Ordering::Relaxed) == 0), "every mapping freed");
    }
}
