// A transactional producer for the read_committed tests: to partition 0 of TOPIC it commits
// "committed-0".."committed-2", aborts "aborted-0".."aborted-2", then commits "committed-3";
// prints "DONE" when all of it is on the broker.
// Run: java -cp '<kafka jars>/*' tests/java/TxProducer.java BOOTSTRAP TOPIC
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public class TxProducer {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("transactional.id", "kre-test-tx-" + args[1]);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 3; i++) producer.send(new ProducerRecord<>(args[1], 0, "k", "committed-" + i));
            producer.commitTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 3; i++) producer.send(new ProducerRecord<>(args[1], 0, "k", "aborted-" + i));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(args[1], 0, "k", "committed-3"));
            producer.commitTransaction();
        }
        System.out.println("DONE");
    }
}
