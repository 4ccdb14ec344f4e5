"""Log streams: where outbox events go (http, rabbitmq, nats, kafka, file), and the dispatcher."""
