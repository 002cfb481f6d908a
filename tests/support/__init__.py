"""What the tests share: paths to the fixtures, one ``until``, one site-config builder,
the fake AMI peer, a raw AMI client, real Redis servers and the rigs more than one test
module drives. Test modules import from here, never from one another."""
