// The JVM peer of bench/ingest-drain: the hot path of QuestDB's Kafka connector (which is not on Maven
// Central) written out by hand from the parts that are, Kafka's Java consumer and QuestDB's Java ILP
// Sender. It drains the samples topic in a consumer group of its own, writes every sample as an ILP
// row (≤ 20,000 rows a request, like ingest), and commits a poll's offsets after QuestDB acknowledged
// its rows. It decodes isoscope's messages (schema version 2 column by column, version 1 record by
// record) with Jackson but does not validate them: it shows what the JVM does with the same work,
// not a second ingest. Compiled by bench/peer.ts at bench time; no binary is committed.
//
//   java -cp <kafka-clients, jackson, questdb-client jars> IsoscopePeer BROKERS GROUP QUESTDB_HTTP EXPECTED
// prints one line of JSON: {"records":N,"cpuSeconds":S}
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.questdb.client.Sender;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class IsoscopePeer {
  private static final String[] SYMBOLS = {"node", "collector", "source", "metric", "partition", "run", "cgroup", "comm", "irq", "device", "le"};
  private static final String[] LONGS = {"seq", "idx", "cpu"};
  private static final String[] DOUBLES = {"value", "scale"};
  private static final int ROWS_PER_REQUEST = 20_000;

  /** One column of a version-2 message: constant, run of integers, array, or absent. */
  private static final class Col {
    final JsonNode node;
    final int kind; // 0 absent, 1 constant, 2 run, 3 array
    final long first;

    Col(JsonNode cols, String name) {
      JsonNode n = cols.get(name);
      if (n == null || n.isNull()) { node = null; kind = 0; first = 0; }
      else if (n.isArray()) { node = n; kind = 3; first = 0; }
      else if (n.has("c")) { node = n.get("c"); kind = 1; first = 0; }
      else { node = null; kind = 2; first = n.get("r").asLong(); }
    }

    boolean present(int i) {
      if (kind == 0) return false;
      if (kind == 2) return true;
      JsonNode v = kind == 1 ? node : node.get(i);
      return v != null && !v.isNull();
    }

    String text(int i) { return (kind == 1 ? node : node.get(i)).asText(); }
    long asLong(int i) { return kind == 2 ? first + i : (kind == 1 ? node : node.get(i)).asLong(); }
    double asDouble(int i) { return kind == 2 ? first + i : (kind == 1 ? node : node.get(i)).asDouble(); }
  }

  private static int rows = 0;

  private static void row(Sender sender, JsonNode r) {
    sender.table("samples");
    for (String s : SYMBOLS) { JsonNode v = r.get(s); if (v != null && !v.isNull()) sender.symbol(s, v.asText()); }
    for (String l : LONGS) { JsonNode v = r.get(l); sender.longColumn(l, v == null || v.isNull() ? ("cpu".equals(l) ? -1 : 0) : v.asLong()); }
    for (String d : DOUBLES) { JsonNode v = r.get(d); sender.doubleColumn(d, v == null || v.isNull() ? 1.0 : v.asDouble()); }
    sender.at(Long.parseLong(r.get("ts").asText()), ChronoUnit.NANOS);
  }

  private static int write(Sender sender, JsonNode msg) {
    if (msg.get("v").asInt() == 1) {
      int n = 0;
      for (JsonNode r : msg.get("records")) { row(sender, r); n++; flushIfFull(sender); }
      return n;
    }
    int n = msg.get("n").asInt();
    JsonNode cols = msg.get("cols");
    Col ts = new Col(cols, "ts");
    Col[] sym = new Col[SYMBOLS.length];
    for (int k = 0; k < SYMBOLS.length; k++) sym[k] = new Col(cols, SYMBOLS[k]);
    Col[] lng = new Col[LONGS.length];
    for (int k = 0; k < LONGS.length; k++) lng[k] = new Col(cols, LONGS[k]);
    Col[] dbl = new Col[DOUBLES.length];
    for (int k = 0; k < DOUBLES.length; k++) dbl[k] = new Col(cols, DOUBLES[k]);
    for (int i = 0; i < n; i++) {
      sender.table("samples");
      for (int k = 0; k < sym.length; k++) if (sym[k].present(i)) sender.symbol(SYMBOLS[k], sym[k].text(i));
      for (int k = 0; k < lng.length; k++) sender.longColumn(LONGS[k], lng[k].present(i) ? lng[k].asLong(i) : ("cpu".equals(LONGS[k]) ? -1 : 0));
      for (int k = 0; k < dbl.length; k++) sender.doubleColumn(DOUBLES[k], dbl[k].present(i) ? dbl[k].asDouble(i) : 1.0);
      sender.at(Long.parseLong(ts.text(i)), ChronoUnit.NANOS);
      flushIfFull(sender);
    }
    return n;
  }

  private static void flushIfFull(Sender sender) {
    if (++rows >= ROWS_PER_REQUEST) { sender.flush(); rows = 0; }
  }

  public static void main(String[] args) throws Exception {
    String brokers = args[0], group = args[1], http = args[2];
    long expected = Long.parseLong(args[3]);
    Properties p = new Properties();
    p.put("bootstrap.servers", brokers);
    p.put("group.id", group);
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.put("max.partition.fetch.bytes", String.valueOf(4 * 1024 * 1024));
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    ObjectMapper json = new ObjectMapper();
    long records = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
         Sender sender = Sender.fromConfig("http::addr=" + http + ";auto_flush=off;protocol_version=2;")) {
      consumer.subscribe(List.of("samples"));
      while (records < expected) {
        ConsumerRecords<byte[], byte[]> polled = consumer.poll(Duration.ofMillis(500));
        if (polled.isEmpty()) continue;
        for (ConsumerRecord<byte[], byte[]> m : polled) records += write(sender, json.readTree(m.value()));
        sender.flush(); // acknowledged by QuestDB (committed to its WAL) …
        rows = 0;
        consumer.commitSync(); // … before the offsets are
      }
    }
    double cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    System.out.println("{\"records\":" + records + ",\"cpuSeconds\":" + cpu + "}");
  }
}
