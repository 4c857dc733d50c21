import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.Date;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.quartz.CronExpression;

/**
 * The Quartz 2.3.2 oracle for tickwork's differential tests.
 *
 * Reads requests, one a line: expression, zone id, start epoch ms, count, separated by the
 * unit separator (U+001F). Answers one line each:
 *   OK <sep> t1,t2,...        the next fire times from getTimeAfter (fewer when it returns null)
 *   PARSE <sep> offset <sep> message   the ParseException of the constructor
 *   RUNTIME <sep> exception   an exception thrown while computing fire times
 *   HANG                      getTimeAfter did not return within 2 s (Quartz loops forever)
 */
public final class QuartzOracle {
    private static final String SEP = "\u001f";

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        String line;
        ExecutorService pool = newPool();
        while ((line = in.readLine()) != null) {
            final String[] parts = line.split(SEP, -1);
            Future<String> result = pool.submit(() -> answer(
                parts[0], parts[1], Long.parseLong(parts[2]), Integer.parseInt(parts[3])));
            String text;
            try {
                text = result.get(2, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                result.cancel(true);
                pool.shutdownNow();
                pool = newPool(); // the looping thread is a daemon and is left behind
                text = "HANG";
            }
            out.println(text);
            out.flush();
        }
        System.exit(0);
    }

    private static ExecutorService newPool() {
        return Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task);
            thread.setDaemon(true);
            return thread;
        });
    }

    private static String answer(String expression, String zone, long start, int count) {
        CronExpression cron;
        try {
            cron = new CronExpression(expression);
        } catch (ParseException e) {
            return "PARSE" + SEP + e.getErrorOffset() + SEP + String.valueOf(e.getMessage()).replace('\n', ' ');
        } catch (RuntimeException e) {
            return "RUNTIME" + SEP + e.toString().replace('\n', ' ');
        }
        cron.setTimeZone(TimeZone.getTimeZone(zone.isEmpty() ? "UTC" : zone));
        StringBuilder times = new StringBuilder();
        Date after = new Date(start);
        try {
            for (int i = 0; i < count; i++) {
                Date next = cron.getTimeAfter(after);
                if (next == null) {
                    break;
                }
                if (i > 0) {
                    times.append(',');
                }
                times.append(next.getTime());
                after = next;
            }
        } catch (RuntimeException e) {
            return "RUNTIME" + SEP + e.toString().replace('\n', ' ');
        }
        return "OK" + SEP + times;
    }
}
