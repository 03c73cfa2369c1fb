// Postmulti is Postern's stand-in for Postfix's multi-instance manager,
// enough for Debian's start/stop glue.
//
// # Synopsis
//
//	postmulti -l [-a] [-g group] [-i name]
//	postmulti -p [-a] [-g group] [-i name] postfix-command...
//	postmulti -x [-a] [-g group] [-i name] command...
//
// # Description
//
// Postern runs a single instance, the default one, whose configuration
// directory is $MAIL_CONFIG or /etc/postfix. Debian's /etc/init.d/postfix
// and postfix@.service call "postmulti -l -a", "postmulti -i - -x postfix
// start" and "postmulti -i - -p start"; these work unchanged:
//
//	-l   list the instance as "-  -  y  /etc/postfix" (name, group,
//	     enabled, configuration directory; padded as Postfix's).
//	-p   run "postfix -c CONFIG_DIR ARGS..." for the instance.
//	-x   run ARGS as a command with MAIL_CONFIG and the instance's
//	     command_directory, daemon_directory, config_directory,
//	     queue_directory, data_directory, multi_instance_name,
//	     multi_instance_group and multi_instance_enable in the
//	     environment, as Postfix does.
//
// -a selects all instances, -i NAME one by name ("-" or the configuration
// directory names the default instance), -g GROUP a group (the default
// instance has none). -e (instance management) is not supported.
//
// # Diagnostics
//
// "postmulti: fatal: No matching instances" and exit status 1 when the
// selection names another instance; "postmulti: fatal: ..." for bad usage.
// With -p and -x the exit status is the command's.
//
// # Configuration parameters
//
//	multi_instance_directories (empty)   secondary instances; Postern runs
//	                                     none and warns when this is set.
//	command_directory, daemon_directory, queue_directory, data_directory
//
// # See also
//
// postfix(1), master(8).
package main
