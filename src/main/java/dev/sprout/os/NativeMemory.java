package dev.sprout.os;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Zeroed memory outside the Java heap, from libc's calloc and back to free (calloc(3)). A RAM
 * disk keeps its pages here: they cost exactly their size, never move, and go back the moment
 * they are freed, where heap pages would cost the collector's headroom too. When native access
 * is denied, memory comes from the heap instead and {@link #free} leaves it to the collector.
 */
public final class NativeMemory {

    private static final MethodHandle CALLOC;
    private static final MethodHandle FREE;

    static {
        MethodHandle calloc = null;
        MethodHandle free = null;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            calloc = linker.downcallHandle(libc.find("calloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            free = linker.downcallHandle(libc.find("free").orElseThrow(),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        } catch (RuntimeException | LinkageError e) {
            System.getLogger(NativeMemory.class.getName()).log(System.Logger.Level.WARNING,
                    "native memory unavailable, RAM disk pages stay on the Java heap: {0}", e.toString());
            calloc = null;
            free = null;
        }
        CALLOC = calloc;
        FREE = free;
    }

    private NativeMemory() {
    }

    /** {@code size} zeroed bytes; throws {@link OutOfMemoryError} when none are left. */
    public static MemorySegment allocateZeroed(long size) {
        if (CALLOC == null) {
            return MemorySegment.ofArray(new byte[Math.toIntExact(size)]);
        }
        MemorySegment address;
        try {
            address = (MemorySegment) CALLOC.invokeExact(1L, size);
        } catch (Throwable e) {
            throw new IllegalStateException("calloc failed", e);
        }
        if (address.equals(MemorySegment.NULL)) {
            throw new OutOfMemoryError("calloc(" + size + ") returned NULL");
        }
        return address.reinterpret(size);
    }

    /** Returns memory from {@link #allocateZeroed}; the segment must not be touched afterwards. */
    public static void free(MemorySegment segment) {
        if (FREE == null || segment.isNative() == false) {
            return;
        }
        try {
            FREE.invokeExact(segment);
        } catch (Throwable e) {
            throw new IllegalStateException("free failed", e);
        }
    }
}
