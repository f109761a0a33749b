package dev.sprout.backend;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.ByteSize;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.WriteLease;
import dev.sprout.block.ZeroFlags;
import dev.sprout.os.NativeMemory;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A sparse RAM disk of up to 2^63-1 bytes: only pages holding non-zero data take memory.
 *
 * <p>Reads are lock-free. Writes, zeroes and trims lock the one page they change; a page being
 * removed is marked detached under its lock, so a writer that raced with the removal retries on
 * a fresh page and no write to another part of the page is lost. A write of whole pages may
 * instead lend fresh pages ({@link #leaseWrite}) that replace the old ones in the map, each under
 * the old page's lock; a reader still inside a replaced page finishes there or looks again.
 *
 * <p>Zeroing and trimming always free the pages they clear, even with NO_HOLE: in RAM a freed page
 * and an allocated page of zeroes read and cost the same (as nbdkit's memory plugin does).
 */
public final class MemoryBlockDevice implements BlockDevice {

    /** log2 of {@link #PAGE_SIZE}. */
    static final int PAGE_SHIFT = 16;
    /** The allocation unit: 64 KiB keeps the map's overhead near 0.2% of the data. */
    static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    /** The most extents one {@link #extents} call returns; callers ask again for the rest. */
    static final int MAX_EXTENTS = 1024;
    /** Spare pages kept for leases at most: more than one 4 MiB write's worth per connection in flight. */
    static final int MAX_SPARE = 256;

    private static final long PAGE_MASK = PAGE_SIZE - 1;
    private static final MemorySegment ZEROES = MemorySegment.ofArray(new byte[PAGE_SIZE]).asReadOnly();

    /** The device size in bytes. */
    private final long size;
    /** The allocated pages by page index; an absent page reads as zeroes. */
    private final ConcurrentSkipListMap<Long, MemoryPage> pages = new ConcurrentSkipListMap<>();
    /**
     * The memory of pages that lent pages replaced, for the next lease. Freeing it instead made an
     * overwrite grow resident memory by 40% of the bytes rewritten: each connection's thread
     * allocates from its own malloc arena and the freed pages sat in another.
     */
    private final ConcurrentLinkedQueue<MemorySegment> spare = new ConcurrentLinkedQueue<>();
    /** How many segments {@link #spare} holds, at most {@link #MAX_SPARE}. */
    private final AtomicInteger spareCount = new AtomicInteger();
    /** How many pages are in {@link #pages}, since the map's own size() walks it. */
    private final AtomicLong pageCount = new AtomicLong();
    /** Set by {@link #close}; every later operation fails. */
    private volatile boolean closed;

    private MemoryBlockDevice(long size) {
        this.size = size;
    }

    /** A device of {@code size} bytes (1 to 2^63-1) reading as zeroes and holding no memory yet. */
    public static MemoryBlockDevice create(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("memory device size must be positive, not " + size);
        }
        return new MemoryBlockDevice(size);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.full();
    }

    /** The bytes of memory held by allocated pages. */
    public long allocatedBytes() {
        return pageCount.get() * PAGE_SIZE;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws DeviceException {
        ensureOpen();
        MemorySegment out = MemorySegment.ofBuffer(dst);
        long length = out.byteSize();
        if (length == 0) {
            return;
        }
        long end = offset + length;
        long filled = 0;
        for (var entry : pages.subMap(offset >>> PAGE_SHIFT, true, (end - 1) >>> PAGE_SHIFT, true).entrySet()) {
            long pageStart = entry.getKey() << PAGE_SHIFT;
            long from = Math.max(offset, pageStart);
            int inPage = (int) (from - pageStart);
            long chunk = Math.min(PAGE_SIZE - inPage, end - from);
            out.asSlice(filled, from - offset - filled).fill((byte) 0);
            copyPage(entry.getKey(), entry.getValue(), inPage, out, from - offset, chunk);
            filled = from - offset + chunk;
        }
        out.asSlice(filled).fill((byte) 0);
        dst.position(dst.limit());
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws DeviceException {
        ensureOpen();
        MemorySegment in = MemorySegment.ofBuffer(src);
        long length = in.byteSize();
        for (long done = 0; done < length; ) {
            long at = offset + done;
            int inPage = (int) (at & PAGE_MASK);
            int chunk = (int) Math.min(PAGE_SIZE - inPage, length - done);
            if (MemorySegment.mismatch(in, done, done + chunk, ZEROES, 0, chunk) < 0) {
                zeroPage(at >>> PAGE_SHIFT, inPage, inPage + chunk);
            } else {
                writePage(at >>> PAGE_SHIFT, inPage, in, done, chunk);
            }
            done += chunk;
        }
        src.position(src.limit());
    }

    /**
     * Lends fresh pages for a write of whole pages, which then replace the pages in the map
     * instead of being copied into them: the payload is copied once, from the socket, where
     * {@link #write} copies it a second time. Pages that arrive all zeroes are dropped as in
     * {@link #write}. Other writes get no lease.
     */
    @Override
    public WriteLease leaseWrite(long offset, int length) {
        if (closed || length <= 0 || ((offset | length) & PAGE_MASK) != 0 || offset > size - length) {
            return null;
        }
        MemoryPage[] fresh = new MemoryPage[length >>> PAGE_SHIFT];
        try {
            for (int i = 0; i < fresh.length; i++) {
                MemorySegment memory = spare.poll();
                if (memory != null) {
                    spareCount.decrementAndGet();
                } else {
                    memory = NativeMemory.allocate(PAGE_SIZE);
                }
                fresh[i] = MemoryPage.unfilled(memory);
            }
        } catch (OutOfMemoryError e) {
            recycleAll(fresh);
            return null; // the plain write reports ENOMEM where it runs out
        }
        return new PageLease(offset >>> PAGE_SHIFT, fresh);
    }

    /** Fresh pages lent for one write of whole pages from {@code first} on. */
    private final class PageLease implements WriteLease {
        private final long first;
        private final MemoryPage[] fresh;
        private final ByteBuffer[] buffers;

        PageLease(long first, MemoryPage[] fresh) {
            this.first = first;
            this.fresh = fresh;
            this.buffers = new ByteBuffer[fresh.length];
            for (int i = 0; i < fresh.length; i++) {
                buffers[i] = fresh[i].buffer();
            }
        }

        @Override
        public ByteBuffer[] buffers() {
            return buffers;
        }

        @Override
        public void commit(boolean fua) throws DeviceException {
            if (closed) {
                release();
                ensureOpen();
            }
            for (int i = 0; i < fresh.length; i++) {
                if (fresh[i].isZero()) {
                    zeroPage(first + i, 0, PAGE_SIZE);
                    recycle(fresh[i].retire());
                } else {
                    install(first + i, fresh[i]);
                }
            }
        }

        @Override
        public void release() {
            recycleAll(fresh);
        }
    }

    private void recycleAll(MemoryPage[] pages) {
        for (MemoryPage page : pages) {
            if (page != null) {
                recycle(page.retire());
            }
        }
    }

    /** Keeps a page's worth of memory for a later lease, or frees it when enough are kept (or closed). */
    private void recycle(MemorySegment memory) {
        if (!closed && spareCount.incrementAndGet() <= MAX_SPARE) {
            spare.offer(memory);
            if (closed) {
                freeSpares(); // close may have emptied the spares before this one arrived
            }
        } else {
            spareCount.decrementAndGet();
            NativeMemory.free(memory);
        }
    }

    /** Puts a filled page in the map at {@code index}, retiring the page it replaces. */
    private void install(long index, MemoryPage fresh) {
        while (true) {
            MemoryPage old = pages.get(index);
            if (old == null) {
                if (pages.putIfAbsent(index, fresh) == null) {
                    pageCount.incrementAndGet();
                    if (closed) {
                        removeAndFree(index);
                    }
                    return;
                }
                continue;
            }
            synchronized (old) {
                if (!old.retired() && pages.replace(index, old, fresh)) {
                    recycle(old.replace());
                    if (closed) {
                        removeAndFree(index);
                    }
                    return;
                }
            }
        }
    }

    @Override
    public void flush() throws DeviceException {
        ensureOpen();
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws DeviceException {
        ensureOpen();
        clear(offset, length);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws DeviceException {
        ensureOpen();
        clear(offset, length);
    }

    @Override
    public void cache(long offset, long length) throws DeviceException {
        ensureOpen();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws DeviceException {
        ensureOpen();
        long end = offset + length;
        List<Extent> extents = new ArrayList<>();
        long covered = offset;
        for (long index : pages.subMap(offset >>> PAGE_SHIFT, true, (end - 1) >>> PAGE_SHIFT, true).keySet()) {
            long from = Math.max(offset, index << PAGE_SHIFT);
            long chunk = Math.min(PAGE_SIZE - (from & PAGE_MASK), end - from);
            if (from > covered && !append(extents, Extent.unallocated(covered, from - covered))) {
                return extents;
            }
            if (!append(extents, Extent.data(from, chunk))) {
                return extents;
            }
            covered = from + chunk;
        }
        if (covered < end) {
            append(extents, Extent.unallocated(covered, end - covered));
        }
        return extents;
    }

    @Override
    public void close() {
        closed = true;
        for (Long index : pages.keySet()) {
            removeAndFree(index);
        }
        freeSpares();
    }

    /**
     * Takes whatever page is at {@code index} out of the map, replaced or not, and frees it. Close
     * calls it for every index, and a writer when it finds the device closed after putting a page
     * in: close may have swept past the index before the page arrived (or before a later writer
     * replaced it), and nothing else would free it.
     */
    private void removeAndFree(long index) {
        MemoryPage page = pages.remove(index);
        if (page != null) {
            free(page);
        }
    }

    /** Frees a page taken out of the map. */
    private void free(MemoryPage page) {
        pageCount.decrementAndGet();
        synchronized (page) {
            page.detachAndFree();
        }
    }

    private void freeSpares() {
        for (MemorySegment memory; (memory = spare.poll()) != null; ) {
            NativeMemory.free(memory);
        }
    }

    /** Copies between buffers and pages; page locks are held only for a copy. */
    @Override
    public boolean nonBlocking() {
        return true;
    }

    @Override
    public String toString() {
        return "Memory(" + ByteSize.format(size) + ")";
    }

    /** Adds {@code next} to the run it continues, or as a new extent if there is room for one. */
    private static boolean append(List<Extent> extents, Extent next) {
        if (!extents.isEmpty() && extents.getLast().joinsWith(next)) {
            Extent last = extents.removeLast();
            extents.add(last.withRange(last.offset(), last.length() + next.length()));
            return true;
        }
        if (extents.size() == MAX_EXTENTS) {
            return false;
        }
        extents.add(next);
        return true;
    }

    /** Copies from {@code page}, or from the page that replaced it meanwhile, or zeroes if none did. */
    private void copyPage(long index, MemoryPage page, int inPage, MemorySegment out, long outOffset, long length) {
        for (MemoryPage current = page; !current.copyTo(inPage, out, outOffset, length); ) {
            current = pages.get(index);
            if (current == null) {
                out.asSlice(outOffset, length).fill((byte) 0);
                return;
            }
        }
    }

    /** Makes {@code [offset, offset+length)} read as zeroes, in time proportional to its pages. */
    private void clear(long offset, long length) {
        long end = offset + length;
        long first = offset >>> PAGE_SHIFT;
        long last = (end - 1) >>> PAGE_SHIFT;
        for (long index : pages.subMap(first, true, last, true).keySet()) {
            int from = index == first ? (int) (offset & PAGE_MASK) : 0;
            int to = index == last ? (int) ((end - 1) & PAGE_MASK) + 1 : PAGE_SIZE;
            zeroPage(index, from, to);
        }
    }

    private void writePage(long index, int inPage, MemorySegment src, long srcOffset, int length)
            throws DeviceException {
        while (true) {
            MemoryPage page = pages.get(index);
            if (page == null) {
                MemoryPage fresh = allocate(index);
                page = pages.putIfAbsent(index, fresh);
                if (page == null) {
                    page = fresh;
                    pageCount.incrementAndGet();
                    if (closed) {
                        removeAndFree(index);
                        ensureOpen();
                    }
                } else {
                    fresh.detachAndFree(); // another writer won the race; its page serves
                }
            }
            synchronized (page) {
                if (!page.retired()) {
                    page.copyFrom(src, srcOffset, inPage, length);
                    return;
                }
            }
        }
    }

    /** Zeroes {@code [from, to)} of a page, removing the page if nothing non-zero is left in it. */
    private void zeroPage(long index, int from, int to) {
        while (true) {
            MemoryPage page = pages.get(index);
            if (page == null) {
                return;
            }
            synchronized (page) {
                if (page.retired()) {
                    continue;
                }
                if (from > 0 || to < PAGE_SIZE) {
                    page.fill(from, to);
                    if (!page.isZero()) {
                        return;
                    }
                }
                if (pages.remove(index, page)) { // else close took it, and frees it
                    free(page);
                }
                return;
            }
        }
    }

    private MemoryPage allocate(long index) throws DeviceException {
        try {
            return MemoryPage.zeroed();
        } catch (OutOfMemoryError e) {
            throw new DeviceException(Errno.ENOMEM, this + " cannot allocate page@" + (index << PAGE_SHIFT), e);
        }
    }

    private void ensureOpen() throws DeviceException {
        if (closed) {
            throw new DeviceException(Errno.ESHUTDOWN, this + " is closed");
        }
    }
}
