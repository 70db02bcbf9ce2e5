// A real Kafka consumer for the consumer-group tests: joins GROUP with PROTOCOL (classic or
// consumer, KIP-848), subscribes to TOPIC, commits offset COMMIT on every assigned partition,
// prints "READY <partitions>" and keeps polling until its stdin closes.
// Run: java -cp '<kafka jars>/*' tests/java/GroupMember.java BOOTSTRAP TOPIC GROUP PROTOCOL COMMIT
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class GroupMember {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("group.id", args[2]);
        p.put("group.protocol", args[3]);
        p.put("client.id", "kre-test-" + args[3]);
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        long commit = Long.parseLong(args[4]);
        Thread stdin = new Thread(() -> { try { while (System.in.read() >= 0) {} } catch (Exception e) {} });
        stdin.setDaemon(true);
        stdin.start();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of(args[1]));
            boolean ready = false;
            while (stdin.isAlive()) {
                c.poll(Duration.ofMillis(200));
                Set<TopicPartition> assigned = c.assignment();
                if (!ready && !assigned.isEmpty()) {
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    for (TopicPartition tp : assigned) offsets.put(tp, new OffsetAndMetadata(commit));
                    c.commitSync(offsets);
                    System.out.println("READY " + assigned.size());
                    System.out.flush();
                    ready = true;
                }
            }
        }
    }
}
