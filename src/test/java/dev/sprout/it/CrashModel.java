package dev.sprout.it;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a disk may hold after a crash, sector by sector, given the requests a client sent and
 * which of them FLUSH or FUA made durable. Each worker owns its sectors and sends one request at a
 * time, so every sector's history is a sequence: a sector may read as the value of its last
 * durable write or zeroing (its baseline when there is none) or of any request after it; a trim
 * adds zeroes but never becomes durable content. Written data names itself: every 8-byte word is
 * {@code id << 24 | sector}, so a word read back says which request wrote it and where.
 */
final class CrashModel {

    static final int SECTOR = 512;

    /** How a request changes its sectors. */
    enum Kind { WRITE, ZERO, TRIM }

    /** One request: its worker's sequence number, its data's id (0 for zeroes), its range. */
    record Request(int index, long id, long offset, int length, Kind kind, boolean fua) {
    }

    /** Per sector, what it read as before this run (an id, 0 for zeroes). */
    private final long[] baseline;
    /** Per worker, the requests sent, in order. */
    private final List<List<Request>> sent = new ArrayList<>();
    /** Per worker, how many of its requests were answered; guarded by this. */
    private final int[] answered;
    /** Per worker, how many of its requests a completed flush made durable; guarded by this. */
    private final int[] flushed;

    CrashModel(long[] baseline, int workers) {
        this.baseline = baseline.clone();
        this.answered = new int[workers];
        this.flushed = new int[workers];
        for (int w = 0; w < workers; w++) {
            sent.add(new ArrayList<>());
        }
    }

    /** The data a write with {@code id} puts at {@code offset}. */
    static ByteBuffer data(long id, long offset, int length) {
        ByteBuffer words = ByteBuffer.allocate(length);
        for (int at = 0; at < length; at += 8) {
            words.putLong(at, id << 24 | ((offset + at) / SECTOR));
        }
        return words;
    }

    /** Records a request before it is sent. */
    synchronized void sending(int worker, Request request) {
        sent.get(worker).add(request);
    }

    /** Records that the worker's latest request was answered with success. */
    synchronized void answered(int worker) {
        answered[worker]++;
    }

    /** What a flush about to be sent will make durable once answered. */
    synchronized int[] beforeFlush() {
        return answered.clone();
    }

    /** A flush sent after {@link #beforeFlush} returned {@code answeredThen} was answered. */
    synchronized void flushAnswered(int[] answeredThen) {
        for (int w = 0; w < flushed.length; w++) {
            flushed[w] = Math.max(flushed[w], answeredThen[w]);
        }
    }

    /** For the test's log: requests sent, answered and made durable by a flush. */
    synchronized String summary() {
        int sentCount = sent.stream().mapToInt(List::size).sum();
        return sentCount + " requests sent, " + java.util.Arrays.stream(answered).sum() + " answered, "
                + java.util.Arrays.stream(flushed).sum() + " flushed";
    }

    /** Per sector, the values it may read as after a crash now. */
    synchronized Map<Integer, Set<Long>> allowed() {
        Map<Integer, Set<Long>> allowed = new HashMap<>();
        for (int w = 0; w < sent.size(); w++) {
            for (Request r : sent.get(w)) {
                boolean durable = r.kind() != Kind.TRIM
                        && (r.index() < flushed[w] || (r.fua() && r.index() < answered[w]));
                for (int s = (int) (r.offset() / SECTOR); s < (r.offset() + r.length()) / SECTOR; s++) {
                    Set<Long> values = allowed.computeIfAbsent(s, k -> new HashSet<>(Set.of(baseline[k])));
                    if (durable) {
                        values.clear();
                    }
                    values.add(r.kind() == Kind.WRITE ? r.id() : 0L);
                }
            }
        }
        return allowed;
    }

    /**
     * Checks a sector read back after the crash and returns its value, or a one-line complaint in
     * {@code problems}.
     */
    long check(int sector, ByteBuffer bytes, Map<Integer, Set<Long>> allowed, List<String> problems) {
        long first = bytes.getLong(0);
        for (int at = 8; at < SECTOR; at += 8) {
            if (bytes.getLong(at) != first) {
                problems.add("sector " + sector + ": mixed words " + Long.toHexString(first) + " and "
                        + Long.toHexString(bytes.getLong(at)) + " at +" + at);
                return first == 0 ? 0 : first >>> 24;
            }
        }
        long value = first == 0 ? 0 : first >>> 24;
        if (first != 0 && (first & 0xff_ffff) != sector) {
            problems.add("sector " + sector + " holds data written for sector " + (first & 0xff_ffff));
        }
        Set<Long> may = allowed.getOrDefault(sector, Set.of(baseline[sector]));
        if (!may.contains(value)) {
            problems.add("sector " + sector + " reads as " + value + ", allowed " + may);
        }
        return value;
    }
}
