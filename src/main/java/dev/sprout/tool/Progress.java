package dev.sprout.tool;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the bytes a tool has dealt with and, when asked to, redraws a one-line bar on a terminal
 * (bytes, rate, ETA) from a ticker thread. The summary line is always the caller's to print.
 */
public final class Progress implements AutoCloseable {

    private static final long TICK_MILLIS = 250;

    private final long total;
    private final PrintStream out;
    private final AtomicLong done = new AtomicLong();
    private final long startNanos = System.nanoTime();
    private final Thread ticker;

    /** Progress over {@code total} bytes, drawn on {@code out} if it is not null. */
    public Progress(long total, PrintStream out) {
        this.total = total;
        this.out = out;
        this.ticker = out == null ? null : Thread.ofVirtual().name("progress").start(this::tick);
    }

    public void advance(long bytes) {
        done.addAndGet(bytes);
    }

    public long done() {
        return done.get();
    }

    public double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private void tick() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(TICK_MILLIS);
                draw();
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    private void draw() {
        long now = done.get();
        double seconds = Math.max(seconds(), 1e-3);
        double rate = now / seconds;
        double fraction = total > 0 ? Math.min(1.0, (double) now / total) : 1.0;
        int width = 30;
        int filled = (int) (fraction * width);
        String eta = rate > 0 && total > now ? String.format(Locale.ROOT, "%.0fs", (total - now) / rate) : "-";
        out.printf(Locale.ROOT, "\r[%s%s] %5.1f%% %s/%s %s/s ETA %s ", "#".repeat(filled), " ".repeat(width - filled),
                fraction * 100, human(now), human(total), human((long) rate), eta);
        out.flush();
    }

    /** Stops the bar and clears its line. */
    @Override
    public void close() {
        if (ticker != null) {
            ticker.interrupt();
            try {
                ticker.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            draw();
            out.print("\n");
            out.flush();
        }
    }

    /** Bytes in binary units with one decimal: 512B, 1.5M. */
    public static String human(long bytes) {
        String units = "KMGTPE";
        if (bytes < 1024) {
            return bytes + "B";
        }
        int unit = 0;
        double value = bytes / 1024.0;
        while (value >= 1024 && unit + 1 < units.length()) {
            value /= 1024;
            unit++;
        }
        return decimal(value, 1) + units.charAt(unit);
    }

    /**
     * A non-negative number with {@code places} decimals, rounded half up, as {@code %.Nf} in the
     * root locale writes it. Not String.format: its parser and Formatter run interpreted at the end
     * of a tool run, ~9 ms before the summary line of a copy appeared.
     */
    public static String decimal(double value, int places) {
        long scale = (long) Math.pow(10, places);
        long scaled = Math.round(value * scale);
        String fraction = Long.toString(scaled % scale);
        return scaled / scale + (places == 0 ? "" : "." + "0".repeat(places - fraction.length()) + fraction);
    }
}
