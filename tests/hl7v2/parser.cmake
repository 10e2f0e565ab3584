# Unit tests of the message library (cg_hl7v2), one per source file, plus the IPF sample
# corpus (skipped with a message when ../shared/data is absent).
foreach(name error path delimiters charset escape message parser header ack query_response
    sender_policy)
  cg_add_unit_test(hl7v2_${name}_test SOURCES ${name}_test.cpp LIBS cg_hl7v2)
endforeach()
cg_add_unit_test(hl7v2_corpus_test SOURCES corpus_test.cpp LIBS cg_hl7v2)
cg_add_unit_test(hl7v2_receiver_test SOURCES receiver_test.cpp LIBS cg_hl7v2_receiver)
foreach(name date_time patient_map pid_writer query_params)
  cg_add_unit_test(hl7v2_${name}_test SOURCES ${name}_test.cpp LIBS cg_hl7v2_fhir)
endforeach()
cg_add_unit_test(hl7v2_fhir_bundle_test SOURCES fhir_bundle_test.cpp LIBS cg_hl7v2_fhir)
cg_add_unit_test(hl7v2_immunization_map_test SOURCES immunization_map_test.cpp LIBS cg_hl7v2_fhir)
cg_add_unit_test(hl7v2_encounter_map_test SOURCES encounter_map_test.cpp LIBS cg_hl7v2_fhir)
cg_add_unit_test(hl7v2_merge_map_test SOURCES merge_map_test.cpp LIBS cg_hl7v2_fhir)
cg_add_unit_test(hl7v2_observation_map_test SOURCES observation_map_test.cpp LIBS cg_hl7v2_fhir)
cg_add_unit_test(hl7v2_v2_values_test SOURCES v2_values_test.cpp LIBS cg_hl7v2_fhir)
cg_add_unit_test(hl7v2_appointment_map_test SOURCES appointment_map_test.cpp LIBS cg_hl7v2_fhir)
