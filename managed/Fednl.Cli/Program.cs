// fednl: train FedNL on one machine, plot histories. Every error is one line on stderr and a non-zero exit.
return Fednl.Cli.CommandRunner.Run(args);
