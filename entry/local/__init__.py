"""The embedded local stack: moto as AWS, the Lambdas called in-process, one module per concern.

sample_data (the seasons the demo uploads), provision (the resources and S3 notifications),
event_sources (the SQS pollers), fit_tasks (the fits and the competitions served), http_bridge
(API Gateway on loopback), stack (all of it started in one call). Import each from its module.
"""
