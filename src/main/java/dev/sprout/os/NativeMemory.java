package dev.sprout.os;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Memory outside the Java heap, from libc's calloc or malloc and back to free (calloc(3)). A RAM
 * disk keeps its pages here: they cost exactly their size, never move, and go back the moment
 * they are freed, where heap pages would cost the collector's headroom too. When native access
 * is denied, memory comes from the heap instead and {@link #free} leaves it to the collector.
 */
public final class NativeMemory {

    private static final MethodHandle CALLOC;
    private static final MethodHandle MALLOC;
    private static final MethodHandle FREE;

    static {
        MethodHandle calloc = null;
        MethodHandle malloc = null;
        MethodHandle free = null;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            calloc = linker.downcallHandle(libc.find("calloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            malloc = linker.downcallHandle(libc.find("malloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            free = linker.downcallHandle(libc.find("free").orElseThrow(),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        } catch (RuntimeException | LinkageError e) {
            System.getLogger(NativeMemory.class.getName()).log(System.Logger.Level.WARNING,
                    "native memory unavailable, RAM disk pages stay on the Java heap: {0}", e.toString());
            calloc = null;
            malloc = null;
            free = null;
        }
        CALLOC = calloc;
        MALLOC = malloc;
        FREE = free;
    }

    private NativeMemory() {
    }

    /** {@code size} zeroed bytes; throws {@link OutOfMemoryError} when none are left. */
    public static MemorySegment allocateZeroed(long size) {
        if (CALLOC == null) {
            return MemorySegment.ofArray(new byte[Math.toIntExact(size)]);
        }
        return checked(() -> (MemorySegment) CALLOC.invokeExact(1L, size), "calloc", size);
    }

    /**
     * {@code size} bytes of whatever the memory held before, for a caller that overwrites them
     * all anyway (zeroing them first would cost a pass over the memory); throws
     * {@link OutOfMemoryError} when none are left.
     */
    public static MemorySegment allocate(long size) {
        if (MALLOC == null) {
            return MemorySegment.ofArray(new byte[Math.toIntExact(size)]);
        }
        return checked(() -> (MemorySegment) MALLOC.invokeExact(size), "malloc", size);
    }

    private interface Allocation {
        MemorySegment call() throws Throwable;
    }

    private static MemorySegment checked(Allocation allocation, String function, long size) {
        MemorySegment address;
        try {
            address = allocation.call();
        } catch (Throwable e) {
            throw new IllegalStateException(function + " failed", e);
        }
        if (address.equals(MemorySegment.NULL)) {
            throw new OutOfMemoryError(function + "(" + size + ") returned NULL");
        }
        return address.reinterpret(size);
    }

    /** Returns memory from {@link #allocateZeroed} or {@link #allocate}; the segment must not be touched afterwards. */
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
